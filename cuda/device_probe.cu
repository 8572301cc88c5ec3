// A trivial kernel launched by is_available() to confirm the device can run our code (compiled
// for the configured architectures).
#include <cuda_runtime.h>

namespace peftcpp::cuda::detail {

__global__ void probe_kernel(int* out) {
  *out = 42;
}

bool run_probe_kernel() {
  int* d = nullptr;
  if (cudaMalloc(&d, sizeof(int)) != cudaSuccess) return false;
  probe_kernel<<<1, 1>>>(d);
  int h = 0;
  const bool ok = cudaMemcpy(&h, d, sizeof(int), cudaMemcpyDeviceToHost) == cudaSuccess && h == 42;
  cudaFree(d);
  return ok;
}

}  // namespace peftcpp::cuda::detail
