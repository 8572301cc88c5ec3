// Compiled instead of the CUDA backend in CPU-only builds.
#include "cuda/cuda.h"
#include "cuda/registration.h"

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

namespace {
bool g_allow_tf32 = false;
}
void set_allow_tf32(bool allow) {
  g_allow_tf32 = allow;
}
bool allow_tf32() {
  return g_allow_tf32;
}

}  // namespace peftcpp::cuda

namespace peftcpp::cuda::detail {
// Nothing to register: backend_for / allocator_for report the device as not available.
void ensure_device(int /*index*/) {}
}  // namespace peftcpp::cuda::detail
