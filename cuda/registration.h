// How the tensor layer reaches the CUDA backend without knowing it (internal; no CUDA header).
//
// backend_for() and allocator_for() call ensure_device() for every CUDA device they are asked
// about. The first call registers the CUDA backend and allocator (register_backend /
// register_allocator); nothing touches the CUDA driver before that, so CPU-only programs never
// initialise it. Defined in cuda/backend/registration.cpp, or in cuda/no_cuda.cpp (does nothing:
// the lookup then fails with its usual "not available" DeviceError).
#pragma once

namespace peftcpp::cuda::detail {

/// Registers the CUDA backend on first use; throws DeviceError naming the reason when
/// cuda:`index` cannot be used (no GPU visible, probe kernel failed, index out of range).
void ensure_device(int index);

}  // namespace peftcpp::cuda::detail
