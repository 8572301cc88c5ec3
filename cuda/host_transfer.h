// Host <-> device copies through pinned staging buffers (internal).
//
// The host side of a transfer is ordinary pageable memory (the CPU allocator's), which the DMA
// engines cannot read directly. Rather than letting the driver stage it behind our back, the
// bytes go through two pinned buffers of kStagingBytes: while one chunk is on the copy engine the
// host fills (or drains) the other. Both functions enqueue on the current stream, so they see
// every kernel issued before them, and return only when the copy is complete.
#pragma once

#include <cstddef>

namespace peftcpp::cuda {

inline constexpr std::size_t kStagingBytes = std::size_t{4} << 20;

void copy_host_to_device(const void* host_src, void* device_dst, std::size_t nbytes);
void copy_device_to_host(const void* device_src, void* host_dst, std::size_t nbytes);

}  // namespace peftcpp::cuda
