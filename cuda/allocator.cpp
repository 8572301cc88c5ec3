// The CUDA caching allocator (see cuda/allocator.h).
#include "cuda/allocator.h"

#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "cuda/check.h"
#include "cuda/context.h"
#include "tensor/error.h"

namespace peftcpp::cuda {

std::size_t device_size_class(std::size_t nbytes) {
  constexpr std::size_t kSmallStep = 512;
  constexpr std::size_t kLarge = std::size_t{1} << 20;
  if (nbytes == 0) nbytes = 1;
  if (nbytes < kLarge) return (nbytes + kSmallStep - 1) / kSmallStep * kSmallStep;
  std::size_t p = kLarge;
  while (p < nbytes) p <<= 1;
  const std::size_t step = p / 8;
  return (nbytes + step - 1) / step * step;
}

namespace {

class CudaCachingAllocator final : public Allocator {
 public:
  void* allocate(std::size_t nbytes) override {
    const std::size_t bytes = device_size_class(nbytes);
    cudaStream_t stream = current_stream();
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.num_allocs;
      auto it = free_.find({stream, bytes});
      if (it != free_.end()) {
        void* p = it->second;
        free_.erase(it);
        stats_.cached_bytes -= bytes;
        ++stats_.num_cache_hits;
        note_alloc(p, bytes);
        return p;
      }
    }
    void* p = nullptr;
    cudaError_t st = cudaMalloc(&p, bytes);
    if (st == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // clear the sticky-free error state before retrying
      empty_cache();
      st = cudaMalloc(&p, bytes);
    }
    if (st != cudaSuccess) {
      (void)cudaGetLastError();
      const AllocatorStats s = stats();
      throw DeviceError(detail::concat("[cuda allocator] cudaMalloc of ", bytes, " bytes failed: ",
                                       cudaGetErrorName(st), ": ", cudaGetErrorString(st), " (live ",
                                       s.live_bytes, " bytes, cached ", s.cached_bytes, " bytes)"));
    }
    std::lock_guard<std::mutex> lock(mu_);
    note_alloc(p, bytes);
    return p;
  }

  void deallocate(void* ptr, std::size_t /*nbytes*/) override {
    if (ptr == nullptr) return;
    cudaStream_t stream = current_stream();
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(ptr);
    if (it == live_.end()) {
      throw DeviceError("[cuda allocator] deallocate of a pointer this allocator did not hand out");
    }
    const std::size_t bytes = it->second;
    live_.erase(it);
    stats_.live_bytes -= bytes;
    free_.emplace(Key{stream, bytes}, ptr);
    stats_.cached_bytes += bytes;
  }

  AllocatorStats stats() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  void empty_cache() override {
    std::multimap<Key, void*> blocks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      blocks.swap(free_);
      stats_.cached_bytes = 0;
    }
    if (blocks.empty()) return;
    // Cached blocks may still be read by enqueued work (a block freed after its last kernel was
    // launched); cudaFree synchronises implicitly, but say so explicitly.
    PEFTCPP_CUDA_CHECK("empty_cache", cudaDeviceSynchronize());
    for (auto& [key, p] : blocks) PEFTCPP_CUDA_CHECK("empty_cache", cudaFree(p));
  }

  void reset_peak() override {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.peak_live_bytes = stats_.live_bytes;
  }

 private:
  using Key = std::pair<cudaStream_t, std::size_t>;

  void note_alloc(void* p, std::size_t bytes) {
    live_.emplace(p, bytes);
    stats_.live_bytes += bytes;
    if (stats_.live_bytes > stats_.peak_live_bytes) stats_.peak_live_bytes = stats_.live_bytes;
  }

  mutable std::mutex mu_;
  std::multimap<Key, void*> free_;           // (stream at free time, size class) -> block
  std::unordered_map<void*, std::size_t> live_;  // block -> size class
  AllocatorStats stats_;
};

}  // namespace

Allocator& device_allocator() {
  // Leaked on purpose: storages in static objects may be freed after main() returns.
  static Allocator* a = new CudaCachingAllocator();
  return *a;
}

}  // namespace peftcpp::cuda
