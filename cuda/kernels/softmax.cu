// softmax / log_softmax along one dim: one block per row; max, then the sum of exp(x - max),
// then the output, in float32 for float32/bfloat16/float16 (as the CPU's row kernel) and double
// for float64. A row of all -inf gives NaN, as on the CPU and in PyTorch. log_softmax is
// (x - max) - log(sum), like the CPU, to keep the low bits of x - max.
#include "cuda/kernels/block_reduce.cuh"
#include "cuda/kernels/elementwise.cuh"
#include "cuda/kernels/kernels.h"

namespace peftcpp::cuda::kernels {
namespace {

template <typename T>
__global__ void __launch_bounds__(1024) softmax_kernel(Layout<2> outer, std::int64_t n, std::int64_t ss,
                                                       std::int64_t ds, const T* src, T* dst, bool log_space) {
  using C = compute_t<T>;
  std::int64_t off[2];
  outer.offsets(blockIdx.x, off);
  const T* x = src + off[0];
  T* y = dst + off[1];
  C mx = -static_cast<C>(INFINITY);
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const C v = load(x + i * ss);
    mx = v > mx ? v : mx;
  }
  mx = block_all_reduce<true>(mx);
  if (mx == -static_cast<C>(INFINITY)) mx = C(0);
  C sum = 0;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) sum += exp(load(x + i * ss) - mx);
  sum = block_all_reduce<false>(sum);
  if (log_space) {
    const C lse = log(sum);
    for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) y[i * ds] = from_compute<T>((load(x + i * ss) - mx) - lse);
  } else {
    const C inv = C(1) / sum;
    for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) y[i * ds] = from_compute<T>(exp(load(x + i * ss) - mx) * inv);
  }
}

}  // namespace

void softmax(const TensorView& src, const TensorView& dst, std::int64_t dim, bool log, cudaStream_t stream) {
  const auto ud = static_cast<std::size_t>(dim);
  const std::int64_t n = src.shape[ud];
  Shape outer_shape = src.shape;
  outer_shape[ud] = 1;
  const Layout<2> outer = make_layout<2>(outer_shape, {&src.strides, &dst.strides}, "softmax");
  if (n == 0 || outer.numel == 0) return;
  const int threads = n >= 2048 ? 1024 : n >= 512 ? 256 : n >= 128 ? 128 : 32;
  dispatch_floating(src.dtype, "softmax", [&]<typename T>() {
    softmax_kernel<T><<<static_cast<unsigned>(outer.numel), threads, 0, stream>>>(
        outer, n, src.strides[ud], dst.strides[ud], static_cast<const T*>(src.data), static_cast<T*>(dst.data), log);
  });
  PEFTCPP_CUDA_CHECK_LAUNCH("softmax");
}

}  // namespace peftcpp::cuda::kernels
