// The caching device allocator of the CUDA backend (internal).
//
// cudaMalloc/cudaFree are slow and cudaFree synchronises the whole device, so freed blocks are
// kept in size-class bins and handed out again. A block is tagged with the stream that was current
// when it was freed and is reused only for allocations on that stream: work enqueued later on the
// same stream runs after every earlier use of the block, so no event is needed (see
// cuda/context.h). empty_cache() synchronises and returns every cached block to the driver; an
// allocation that fails also empties the cache and retries once before throwing a DeviceError.
#pragma once

#include <cstddef>

#include "tensor/allocator.h"

namespace peftcpp::cuda {

/// Rounds a request to its size class: multiples of 512 bytes below 1 MiB, above that an eighth
/// of the next power of two (a reused block wastes less than 12.5%).
std::size_t device_size_class(std::size_t nbytes);

/// The allocator registered for DeviceType::CUDA (created on first call; never destroyed).
Allocator& device_allocator();

}  // namespace peftcpp::cuda
