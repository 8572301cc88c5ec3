// Fused cross-entropy rows over contiguous logits [M, C] and int64 targets [M], float32 and
// float64 (tensor/cpu/fused/fused_cross_entropy.cpp is the reference): one block per row.
// Forward: lse = max + log(sum(exp(x - max))) (an all -inf row gives -inf), loss = lse - x[t];
// both 0 for ignored rows. Backward: grad = scale * exp(x - lse), minus scale at the target;
// zeros for ignored rows. scale is [M] or [1].
#include "cuda/kernels/block_reduce.cuh"
#include "cuda/kernels/elementwise.cuh"
#include "cuda/kernels/kernels.h"

namespace peftcpp::cuda::kernels {
namespace {

template <typename T>
__global__ void __launch_bounds__(1024) cross_entropy_kernel(std::int64_t n, const T* x, const std::int64_t* target,
                                                             std::int64_t ignore, T* loss, T* lse) {
  const std::int64_t r = blockIdx.x;
  const std::int64_t t = target[r];
  if (t == ignore) {
    if (threadIdx.x == 0) {
      loss[r] = 0;
      lse[r] = 0;
    }
    return;
  }
  const T* xr = x + r * n;
  T m = -static_cast<T>(INFINITY);
  bool nan = false;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    m = xr[i] > m ? xr[i] : m;
    nan = nan || is_nan(xr[i]);
  }
  m = block_all_reduce<true>(m);
  nan = __syncthreads_or(nan);
  if (nan) m = static_cast<T>(NAN);  // NaN is sticky, as the CPU's max
  if (m == -static_cast<T>(INFINITY)) m = 0;
  T s = 0;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) s += exp(xr[i] - m);
  s = block_all_reduce<false>(s);
  if (threadIdx.x == 0) {
    const T l = m + log(s);
    lse[r] = l;
    loss[r] = l - xr[t];
  }
}

template <typename T>
__global__ void __launch_bounds__(1024) cross_entropy_backward_kernel(std::int64_t n, const T* x,
                                                                      const std::int64_t* target, std::int64_t ignore,
                                                                      const T* lse, const T* scale,
                                                                      std::int64_t scale_step, T* grad) {
  const std::int64_t r = blockIdx.x;
  const std::int64_t t = target[r];
  T* gr = grad + r * n;
  if (t == ignore) {
    for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) gr[i] = 0;
    return;
  }
  const T* xr = x + r * n;
  const T sc = scale[r * scale_step], l = lse[r];
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const T v = sc * exp(xr[i] - l);
    gr[i] = i == t ? v - sc : v;
  }
}

int row_threads(std::int64_t n) {
  return n >= 2048 ? 1024 : n >= 512 ? 256 : n >= 128 ? 128 : 32;
}

template <typename F>
void dispatch_ce(DType dtype, const char* op, F&& f) {
  if (dtype == DType::Float32) return f.template operator()<float>();
  if (dtype == DType::Float64) return f.template operator()<double>();
  throw DeviceError(std::string("[") + op + "] the CUDA fused kernel takes float32 or float64, got " + dtype_name(dtype));
}

}  // namespace

void cross_entropy(const TensorView& logits, const TensorView& target, std::int64_t ignore_index,
                   const TensorView& loss, const TensorView& lse, cudaStream_t stream) {
  const std::int64_t m = logits.shape[0], n = logits.shape[1];
  if (m == 0) return;
  dispatch_ce(logits.dtype, "cross_entropy", [&]<typename T>() {
    cross_entropy_kernel<T><<<static_cast<unsigned>(m), row_threads(n), 0, stream>>>(
        n, static_cast<const T*>(logits.data), static_cast<const std::int64_t*>(target.data), ignore_index,
        static_cast<T*>(loss.data), static_cast<T*>(lse.data));
  });
  PEFTCPP_CUDA_CHECK_LAUNCH("cross_entropy");
}

void cross_entropy_backward(const TensorView& logits, const TensorView& target, std::int64_t ignore_index,
                            const TensorView& lse, const TensorView& scale, const TensorView& grad,
                            cudaStream_t stream) {
  const std::int64_t m = logits.shape[0], n = logits.shape[1];
  if (m == 0 || n == 0) return;
  dispatch_ce(logits.dtype, "cross_entropy_backward", [&]<typename T>() {
    cross_entropy_backward_kernel<T><<<static_cast<unsigned>(m), row_threads(n), 0, stream>>>(
        n, static_cast<const T*>(logits.data), static_cast<const std::int64_t*>(target.data), ignore_index,
        static_cast<const T*>(lse.data), static_cast<const T*>(scale.data), scale.numel() == 1 ? 0 : 1,
        static_cast<T*>(grad.data));
  });
  PEFTCPP_CUDA_CHECK_LAUNCH("cross_entropy_backward");
}

}  // namespace peftcpp::cuda::kernels
