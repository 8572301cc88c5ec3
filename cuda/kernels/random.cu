// Counter-based random fills: element i (row-major over dst's shape) uses Philox counter
// offset + i of the seed, through the same host/device functions as the CPU backend
// (tensor/random/philox.h). Uniform draws are bit-identical to the CPU's; normal draws use the
// device's double-precision log/cos/sqrt, which may differ from the host's libm in the last bit
// of the double before it is rounded to the tensor's dtype.
#include <type_traits>

#include "cuda/kernels/elementwise.cuh"
#include "cuda/kernels/kernels.h"
#include "tensor/random/philox.h"

namespace peftcpp::cuda::kernels {
namespace {

template <typename T>
__global__ void __launch_bounds__(kBlock) random_kernel(Layout<1> L, T* dst, int kind, double low, double high,
                                                        std::uint64_t seed, std::uint64_t offset, int digits) {
  const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < L.numel; i += step) {
    const std::uint64_t counter = offset + static_cast<std::uint64_t>(i);
    const double v = kind == 0 ? low + (high - low) * philox_uniform_digits(seed, counter, digits)
                               : low + high * philox_normal(seed, counter);
    std::int64_t off[1];
    L.offsets(i, off);
    dst[off[0]] = from_compute<T>(static_cast<compute_t<T>>(v));
  }
}

}  // namespace

void random(const TensorView& dst, int kind, double low, double high, std::uint64_t seed, std::uint64_t offset,
            cudaStream_t stream) {
  // No coalescing here would change the row-major numbering; make_layout only merges dims whose
  // order it keeps, so linear index i is the same element as on the CPU.
  const Layout<1> L = make_layout<1>({&dst}, "random");
  if (L.numel == 0) return;
  dispatch_floating(dst.dtype, "random", [&]<typename T>() {
    const int digits = std::is_same_v<T, double> ? 53 : std::is_same_v<T, float> ? 24 : std::is_same_v<T, Half> ? 11 : 8;
    random_kernel<T><<<grid_for(L.numel), kBlock, 0, stream>>>(L, static_cast<T*>(dst.data), kind, low, high, seed,
                                                              offset, digits);
  });
  PEFTCPP_CUDA_CHECK_LAUNCH("random");
}

}  // namespace peftcpp::cuda::kernels
