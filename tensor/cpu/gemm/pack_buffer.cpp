// Thread-local, grow-only, 64-byte aligned packing buffers (see pack_buffer.h).
#include "tensor/cpu/gemm/pack_buffer.h"

#include <cstdlib>
#include <memory>
#include <new>

namespace peftcpp::cpu::gemm_detail {
namespace {

constexpr int kSlots = 2;
constexpr std::size_t kAlign = 64;
// Slack after the requested size: kernels may write whole vectors past a ragged panel end.
constexpr std::size_t kSlackFloats = 64;

struct FreeDeleter {
  void operator()(float* p) const {
    std::free(p);
  }
};

struct Buffers {
  std::unique_ptr<float, FreeDeleter> data[kSlots];
  std::size_t capacity[kSlots] = {};
};

}  // namespace

float* thread_pack_buffer(int slot, int64_t count) {
  thread_local Buffers buffers;
  const std::size_t want = static_cast<std::size_t>(count < 0 ? 0 : count) + kSlackFloats;
  if (want > buffers.capacity[slot]) {
    // Grow by at least 1.5x so slowly increasing shapes do not reallocate every call.
    std::size_t cap = buffers.capacity[slot] + buffers.capacity[slot] / 2;
    if (cap < want)
      cap = want;
    const std::size_t bytes = (cap * sizeof(float) + kAlign - 1) / kAlign * kAlign;
    buffers.data[slot].reset();  // free first: peak memory stays at one buffer
    buffers.capacity[slot] = 0;
    auto* p = static_cast<float*>(std::aligned_alloc(kAlign, bytes));
    if (p == nullptr)
      throw std::bad_alloc();
    buffers.data[slot].reset(p);
    buffers.capacity[slot] = bytes / sizeof(float);
  }
  return buffers.data[slot].get();
}

}  // namespace peftcpp::cpu::gemm_detail
