// Compiled instead of the CUDA backend in CPU-only builds.
#include "cuda/cuda.h"

namespace peftcpp::cuda {

bool is_compiled() {
  return false;
}
bool is_available() {
  return false;
}
int device_count() {
  return 0;
}
std::string unavailable_reason() {
  return "peftcpp was built without CUDA (-Dcuda=disabled, or nvcc was not found)";
}

}  // namespace peftcpp::cuda
