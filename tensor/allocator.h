// Per-device allocators and their statistics.
//
// CPU: a caching allocator. With glibc's default malloc, every fresh large buffer (e.g. the
// output of a large GEMM) is a new mmap whose pages fault in one by one; PyTorch CPU training was
// 3.8x slower on our 2-core machines for that reason. Blocks of 64 KiB and more are therefore
// kept in size-class bins and reused; smaller ones go straight to aligned_alloc.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/device.h"

namespace peftcpp {

struct AllocatorStats {
  std::size_t live_bytes = 0;       // bytes handed out and not yet returned
  std::size_t peak_live_bytes = 0;  // max of live_bytes since the last reset_peak()
  std::size_t cached_bytes = 0;     // bytes held in the cache, free for reuse
  std::uint64_t num_allocs = 0;     // allocate() calls
  std::uint64_t num_cache_hits = 0; // allocate() calls served from the cache
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  /// Returns memory aligned to 64 bytes; nbytes 0 returns a valid unique pointer.
  virtual void* allocate(std::size_t nbytes) = 0;
  virtual void deallocate(void* ptr, std::size_t nbytes) = 0;
  virtual AllocatorStats stats() const = 0;
  /// Releases every cached block back to the system.
  virtual void empty_cache() = 0;
  virtual void reset_peak() = 0;
};

/// The allocator serving `device` (throws DeviceError when the device type is not built in).
Allocator& allocator_for(Device device);
/// Used by the CUDA backend to plug its allocator in.
void register_allocator(DeviceType type, Allocator* allocator);

}  // namespace peftcpp
