// The CPU caching allocator (see tensor/allocator.h for why it exists).
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>

#include "cuda/registration.h"
#include "tensor/allocator.h"
#include "tensor/error.h"

namespace peftcpp {
namespace {

constexpr std::size_t kAlignment = 64;
constexpr std::size_t kCacheMinBytes = 64 * 1024;
// Cached free blocks beyond this are returned to the system.
constexpr std::size_t kCacheLimitBytes = std::size_t{4} << 30;

// Size classes: round up to a quarter of the next power of two, so a reused block wastes < 25%.
std::size_t size_class(std::size_t n) {
  if (n < kCacheMinBytes) return (n + kAlignment - 1) / kAlignment * kAlignment;
  std::size_t p = kCacheMinBytes;
  while (p < n) p <<= 1;
  const std::size_t step = p / 8;
  return (n + step - 1) / step * step;
}

class CpuCachingAllocator final : public Allocator {
 public:
  ~CpuCachingAllocator() override {
    empty_cache();
  }

  void* allocate(std::size_t nbytes) override {
    const std::size_t bytes = size_class(nbytes == 0 ? 1 : nbytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.num_allocs;
      if (bytes >= kCacheMinBytes) {
        auto it = free_.find(bytes);
        if (it != free_.end()) {
          void* p = it->second;
          free_.erase(it);
          stats_.cached_bytes -= bytes;
          ++stats_.num_cache_hits;
          note_alloc(bytes);
          return p;
        }
      }
    }
    void* p = std::aligned_alloc(kAlignment, bytes);
    if (p == nullptr) {
      empty_cache();
      p = std::aligned_alloc(kAlignment, bytes);
    }
    if (p == nullptr) {
      throw Error(detail::concat("[cpu allocator] out of memory allocating ", nbytes, " bytes"));
    }
    std::lock_guard<std::mutex> lock(mu_);
    note_alloc(bytes);
    return p;
  }

  void deallocate(void* ptr, std::size_t nbytes) override {
    const std::size_t bytes = size_class(nbytes == 0 ? 1 : nbytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.live_bytes -= bytes;
      if (bytes >= kCacheMinBytes && stats_.cached_bytes + bytes <= kCacheLimitBytes) {
        free_.emplace(bytes, ptr);
        stats_.cached_bytes += bytes;
        return;
      }
    }
    std::free(ptr);
  }

  AllocatorStats stats() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  void empty_cache() override {
    std::multimap<std::size_t, void*> blocks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      blocks.swap(free_);
      stats_.cached_bytes = 0;
    }
    for (auto& [size, p] : blocks) std::free(p);
  }

  void reset_peak() override {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.peak_live_bytes = stats_.live_bytes;
  }

 private:
  void note_alloc(std::size_t bytes) {
    stats_.live_bytes += bytes;
    if (stats_.live_bytes > stats_.peak_live_bytes) stats_.peak_live_bytes = stats_.live_bytes;
  }

  mutable std::mutex mu_;
  std::multimap<std::size_t, void*> free_;
  AllocatorStats stats_;
};

Allocator* g_allocators[2] = {nullptr, nullptr};

}  // namespace

Allocator& allocator_for(Device device) {
  if (device.is_cpu()) {
    // Leaked on purpose: tensors in static objects may be freed after main() returns.
    static Allocator* cpu = new CpuCachingAllocator();
    return *cpu;
  }
  if (device.is_cuda()) cuda::detail::ensure_device(device.index);
  Allocator* a = g_allocators[static_cast<int>(device.type)];
  if (a == nullptr) {
    throw DeviceError("[allocator] device " + device.str() +
                      " is not available (peftcpp was built without CUDA, or no GPU is visible)");
  }
  return *a;
}

void register_allocator(DeviceType type, Allocator* allocator) {
  g_allocators[static_cast<int>(type)] = allocator;
}

}  // namespace peftcpp
