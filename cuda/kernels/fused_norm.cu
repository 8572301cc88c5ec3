// Fused RMSNorm (forward, backward) and SwiGLU's silu(gate) * up (forward, backward), float32
// and float64, with the CPU kernels' formulas (tensor/cpu/fused/fused_norm.cpp): row statistics
// accumulated in double, rstd saved in the input's dtype, the weight gradient summed over rows
// in double (one thread per column and share of the rows, shares combined in order). All
// tensors are contiguous (the op layer's contract for fused kernels); a null weight / output
// pointer means "absent".
#include <algorithm>

#include "cuda/context.h"
#include "cuda/kernels/block_reduce.cuh"
#include "cuda/kernels/elementwise.cuh"
#include "cuda/kernels/kernels.h"
#include "tensor/storage.h"

namespace peftcpp::cuda::kernels {
namespace {

int row_threads(std::int64_t n) {
  return n >= 2048 ? 1024 : n >= 512 ? 256 : n >= 128 ? 128 : 32;
}

template <typename T>
__global__ void __launch_bounds__(1024) rms_norm_kernel(std::int64_t n, double eps, const T* x, const T* w, T* y,
                                                        T* rstd) {
  const T* xr = x + static_cast<std::int64_t>(blockIdx.x) * n;
  T* yr = y + static_cast<std::int64_t>(blockIdx.x) * n;
  double ss = 0;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) ss += static_cast<double>(xr[i]) * xr[i];
  ss = block_all_reduce<false>(ss);
  const T inv = static_cast<T>(1.0 / sqrt(ss / static_cast<double>(n) + eps));
  if (threadIdx.x == 0) rstd[blockIdx.x] = inv;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] = w != nullptr ? w[i] * (xr[i] * inv) : xr[i] * inv;
}

template <typename T>
__global__ void __launch_bounds__(1024) rms_norm_backward_kernel(std::int64_t n, const T* g, const T* x, const T* w,
                                                                 const T* rstd, T* gx) {
  const std::int64_t base = static_cast<std::int64_t>(blockIdx.x) * n;
  const double inv = rstd[blockIdx.x];
  double dot = 0;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    dot += w != nullptr ? static_cast<double>(g[base + i]) * w[i] * x[base + i] : static_cast<double>(g[base + i]) * x[base + i];
  }
  dot = block_all_reduce<false>(dot);
  const T a = static_cast<T>(inv);
  const T b = static_cast<T>(inv * inv * inv * dot / static_cast<double>(n));
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    gx[base + i] = w != nullptr ? a * (g[base + i] * w[i]) - b * x[base + i] : a * g[base + i] - b * x[base + i];
  }
}

// Partial sums of gw[i] = sum over rows of g * x * rstd: one thread per (column, share of the
// rows), the share's rows in order; partial[s * n + i].
template <typename T>
__global__ void __launch_bounds__(kBlock) rms_norm_weight_grad_kernel(std::int64_t rows, std::int64_t n,
                                                                      std::int64_t chunk, const T* g, const T* x,
                                                                      const T* rstd, double* partial) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const std::int64_t begin = static_cast<std::int64_t>(blockIdx.y) * chunk;
  const std::int64_t end = begin + chunk < rows ? begin + chunk : rows;
  double s = 0;
  for (std::int64_t r = begin; r < end; ++r) s += static_cast<double>(g[r * n + i]) * x[r * n + i] * static_cast<double>(rstd[r]);
  partial[static_cast<std::int64_t>(blockIdx.y) * n + i] = s;
}

// gw[i] = the shares' partial sums, added in share order.
template <typename T>
__global__ void __launch_bounds__(kBlock) rms_norm_weight_grad_combine(std::int64_t n, int shares,
                                                                       const double* partial, T* gw) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  double s = 0;
  for (int k = 0; k < shares; ++k) s += partial[k * n + i];
  gw[i] = static_cast<T>(s);
}

template <typename T>
struct SiluMul {
  __device__ __forceinline__ T operator()(T a, T b) const { return a / (T(1) + exp(-a)) * b; }
};

template <typename T>
__global__ void __launch_bounds__(kBlock) silu_mul_backward_kernel(std::int64_t total, const T* g, const T* a,
                                                                   const T* b, T* da, T* db) {
  const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const T x = a[i], s = T(1) / (T(1) + exp(-x)), gi = g[i];
    if (db != nullptr) db[i] = gi * (x * s);
    if (da != nullptr) da[i] = gi * b[i] * (s * (T(1) + x * (T(1) - s)));
  }
}

template <typename F>
void dispatch_fused(DType dtype, const char* op, F&& f) {
  if (dtype == DType::Float32) return f.template operator()<float>();
  if (dtype == DType::Float64) return f.template operator()<double>();
  throw DeviceError(std::string("[") + op + "] the CUDA fused kernel takes float32 or float64, got " + dtype_name(dtype));
}

std::int64_t rows_of(const TensorView& x) {
  return x.shape.empty() || x.shape.back() == 0 ? (x.shape.empty() ? 1 : 0) : x.numel() / x.shape.back();
}

}  // namespace

void rms_norm(const TensorView& x, const TensorView& w, double eps, const TensorView& y, const TensorView& rstd,
              cudaStream_t stream) {
  const std::int64_t n = x.shape.empty() ? 1 : x.shape.back(), rows = rows_of(x);
  if (rows == 0) return;
  dispatch_fused(x.dtype, "rms_norm", [&]<typename T>() {
    rms_norm_kernel<T><<<static_cast<unsigned>(rows), row_threads(n), 0, stream>>>(
        n, eps, static_cast<const T*>(x.data), static_cast<const T*>(w.data), static_cast<T*>(y.data),
        static_cast<T*>(rstd.data));
  });
  PEFTCPP_CUDA_CHECK_LAUNCH("rms_norm");
}

void rms_norm_backward(const TensorView& g, const TensorView& x, const TensorView& w, const TensorView& rstd,
                       const TensorView& gx, const TensorView& gw, cudaStream_t stream) {
  const std::int64_t n = x.shape.empty() ? 1 : x.shape.back(), rows = rows_of(x);
  dispatch_fused(x.dtype, "rms_norm_backward", [&]<typename T>() {
    const T* gp = static_cast<const T*>(g.data);
    const T* xp = static_cast<const T*>(x.data);
    const T* rp = static_cast<const T*>(rstd.data);
    if (rows > 0) {
      rms_norm_backward_kernel<T><<<static_cast<unsigned>(rows), row_threads(n), 0, stream>>>(
          n, gp, xp, static_cast<const T*>(w.data), rp, static_cast<T*>(gx.data));
      PEFTCPP_CUDA_CHECK_LAUNCH("rms_norm_backward");
    }
    if (gw.data != nullptr && n > 0) {
      // shares of the rows so that enough blocks run; partials in double, combined in order
      const std::int64_t col_blocks = (n + kBlock - 1) / kBlock;
      const std::int64_t want = 4 * static_cast<std::int64_t>(multiprocessor_count());
      const std::int64_t shares =
          std::clamp<std::int64_t>(std::min((want + col_blocks - 1) / col_blocks, rows / 64), 1, 65535);
      const std::int64_t chunk = std::max<std::int64_t>((rows + shares - 1) / shares, 1);
      auto partial = Storage::allocate(static_cast<std::size_t>(shares * n) * sizeof(double), kCUDA);
      auto* pp = static_cast<double*>(partial->data());
      rms_norm_weight_grad_kernel<T><<<dim3(static_cast<unsigned>(col_blocks), static_cast<unsigned>(shares)), kBlock,
                                       0, stream>>>(rows, n, chunk, gp, xp, rp, pp);
      PEFTCPP_CUDA_CHECK_LAUNCH("rms_norm_backward");
      rms_norm_weight_grad_combine<T><<<grid_for(n), kBlock, 0, stream>>>(n, static_cast<int>(shares), pp,
                                                                         static_cast<T*>(gw.data));
      PEFTCPP_CUDA_CHECK_LAUNCH("rms_norm_backward");
    }
  });
}

void silu_mul(const TensorView& gate, const TensorView& up, const TensorView& out, cudaStream_t stream) {
  dispatch_fused(gate.dtype, "silu_mul", [&]<typename T>() {
    launch_elementwise<T, T, T>("silu_mul", stream, SiluMul<T>{}, out, {&gate, &up});
  });
}

void silu_mul_backward(const TensorView& g, const TensorView& gate, const TensorView& up, const TensorView& d_gate,
                       const TensorView& d_up, cudaStream_t stream) {
  const std::int64_t total = gate.numel();
  if (total == 0) return;
  dispatch_fused(gate.dtype, "silu_mul_backward", [&]<typename T>() {
    silu_mul_backward_kernel<T><<<grid_for(total), kBlock, 0, stream>>>(
        total, static_cast<const T*>(g.data), static_cast<const T*>(gate.data), static_cast<const T*>(up.data),
        static_cast<T*>(d_gate.data), static_cast<T*>(d_up.data));
  });
  PEFTCPP_CUDA_CHECK_LAUNCH("silu_mul_backward");
}

}  // namespace peftcpp::cuda::kernels
