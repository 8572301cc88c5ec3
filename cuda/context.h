// The per-device execution context of the CUDA backend (internal: includes CUDA headers).
//
// Ordering rules (also in docs/ARCHITECTURE.md):
//  - Every kernel, cuBLAS call and device-to-device copy of a device is enqueued on that device's
//    one current stream, so device work runs in the order the host issued it.
//  - Host <-> device copies (Backend::copy_to_host / copy_from_host) go through the same stream and
//    synchronise it before returning: once they return, the host buffer may be reused or read.
//  - Freed device memory returns to the caching allocator tagged with the current stream and is
//    only handed out again for work on that stream, which runs after every earlier use of it.
// Only device 0 is served so far (cuda:N with N > 0 is refused with a DeviceError).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

namespace peftcpp::cuda {

/// The stream every operation on the current device is enqueued on (created on first use).
cudaStream_t current_stream();
/// Blocks the host until everything enqueued on the current stream has finished.
void synchronize();
/// The cuBLAS handle bound to current_stream() (created on first use).
cublasHandle_t cublas_handle();
/// Number of streaming multiprocessors of the current device (cached).
int multiprocessor_count();

}  // namespace peftcpp::cuda
