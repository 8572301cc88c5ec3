// Device discovery for the CUDA backend.
#include <cuda_runtime.h>

#include "cuda/cuda.h"

namespace peftcpp::cuda {
namespace detail {
bool run_probe_kernel();
}

bool is_compiled() {
  return true;
}

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

std::string unavailable_reason() {
  int n = 0;
  const cudaError_t st = cudaGetDeviceCount(&n);
  if (st != cudaSuccess) return std::string("no usable GPU: ") + cudaGetErrorString(st);
  if (n == 0) return "no GPU is visible";
  if (!detail::run_probe_kernel()) return "a GPU is visible but a probe kernel failed to run";
  return "";
}

bool is_available() {
  static const bool available = unavailable_reason().empty();
  return available;
}

}  // namespace peftcpp::cuda
