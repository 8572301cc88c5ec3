// Lazy registration of the CUDA backend and allocator (see cuda/registration.h).
#include "cuda/registration.h"

#include <atomic>
#include <mutex>
#include <string>

#include "cuda/allocator.h"
#include "cuda/backend/cuda_backend.h"
#include "cuda/cuda.h"
#include "tensor/allocator.h"
#include "tensor/backend/backend.h"
#include "tensor/error.h"

namespace peftcpp::cuda::detail {
namespace {
std::atomic<bool> g_registered{false};
std::once_flag g_once;
}  // namespace

void ensure_device(int index) {
  if (index == 0 && g_registered.load(std::memory_order_acquire)) return;
  std::call_once(g_once, [] {
    if (!is_available()) return;  // the reason is reported below, on every call
    register_allocator(DeviceType::CUDA, &device_allocator());
    register_backend(DeviceType::CUDA, &cuda_backend());
    g_registered.store(true, std::memory_order_release);
  });
  if (!g_registered.load(std::memory_order_acquire)) {
    throw DeviceError("[cuda] device cuda:" + std::to_string(index) + " is not available: " + unavailable_reason());
  }
  if (index != 0) {
    throw DeviceError("[cuda] device cuda:" + std::to_string(index) +
                      " requested, but the CUDA backend serves only cuda:0 so far (" +
                      std::to_string(device_count()) + " GPU(s) visible)");
  }
}

}  // namespace peftcpp::cuda::detail
