// Public CUDA surface. Includes no CUDA header: usable from CPU-only builds, where every query
// says no device and device operations throw NotCompiledError.
#pragma once

#include <string>

namespace peftcpp::cuda {

/// True when peftcpp was built with the CUDA backend.
bool is_compiled();
/// True when compiled with CUDA and at least one GPU is visible.
bool is_available();
/// Number of visible GPUs (0 without CUDA).
int device_count();
/// A human-readable reason why CUDA is unavailable ("" when available).
std::string unavailable_reason();

/// Whether float32 matrix products on CUDA may use TF32 tensor cores (10-bit mantissa inputs,
/// float32 accumulation). Off by default: float32 GEMMs then round like the CPU's. No effect in
/// CPU-only builds.
void set_allow_tf32(bool allow);
bool allow_tf32();

}  // namespace peftcpp::cuda
