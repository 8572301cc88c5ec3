// Shared pieces of the CUDA kernels: storage <-> compute conversions (16-bit floats compute in
// float32, as on the CPU), dtype dispatch and launch helpers. Internal to cuda/kernels.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>

#include "cuda/check.h"
#include "tensor/backend/backend.h"
#include "tensor/dtype.h"
#include "tensor/error.h"

namespace peftcpp::cuda::kernels {

inline constexpr int kBlock = 256;

/// The type arithmetic is done in for a storage type.
template <typename T>
struct compute_type {
  using type = T;
};
template <>
struct compute_type<Half> {
  using type = float;
};
template <>
struct compute_type<BFloat16> {
  using type = float;
};
template <typename T>
using compute_t = typename compute_type<T>::type;

template <typename T>
inline constexpr bool is_float_v = std::is_floating_point_v<compute_t<T>>;

template <typename T>
__device__ __forceinline__ compute_t<T> to_compute(T v) {
  if constexpr (std::is_same_v<T, Half>) {
    return __half2float(__ushort_as_half(v.bits));
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return __bfloat162float(__ushort_as_bfloat16(v.bits));
  } else {
    return v;
  }
}

template <typename T>
__device__ __forceinline__ compute_t<T> load(const T* p) {
  return to_compute(*p);
}

/// Storage value of v (round to nearest even for 16-bit floats; v passes through when it already
/// is a T, e.g. fill values converted on the host).
template <typename T, typename C>
__device__ __forceinline__ T from_compute(C v) {
  if constexpr (std::is_same_v<T, C>) {
    return v;
  } else if constexpr (std::is_same_v<T, Half>) {
    T r;
    r.bits = __half_as_ushort(__float2half_rn(static_cast<float>(v)));
    return r;
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    T r;
    r.bits = __bfloat16_as_ushort(__float2bfloat16_rn(static_cast<float>(v)));
    return r;
  } else {
    return static_cast<T>(v);
  }
}

template <typename T>
__device__ __forceinline__ bool is_nan(T x) {
  if constexpr (std::is_floating_point_v<T>) {
    return x != x;
  } else {
    return false;
  }
}

/// Calls `f.template operator()<T>()` with the storage type of `dtype`.
template <typename F>
void dispatch_all(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float32: return f.template operator()<float>();
    case DType::Float64: return f.template operator()<double>();
    case DType::Float16: return f.template operator()<Half>();
    case DType::BFloat16: return f.template operator()<BFloat16>();
    case DType::Int8: return f.template operator()<std::int8_t>();
    case DType::UInt8: return f.template operator()<std::uint8_t>();
    case DType::Int16: return f.template operator()<std::int16_t>();
    case DType::Int32: return f.template operator()<std::int32_t>();
    case DType::Int64: return f.template operator()<std::int64_t>();
    case DType::Bool: return f.template operator()<bool>();
  }
  throw DTypeError("[cuda] unknown dtype");
}

/// dispatch_all restricted to floating types (DTypeError naming `op` otherwise).
template <typename F>
void dispatch_floating(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::Float32: return f.template operator()<float>();
    case DType::Float64: return f.template operator()<double>();
    case DType::Float16: return f.template operator()<Half>();
    case DType::BFloat16: return f.template operator()<BFloat16>();
    default:
      throw DTypeError(std::string("[") + op + "] expected a floating-point tensor, got " + dtype_name(dtype));
  }
}

/// Byte-wise dispatch for kernels that only move elements: one unsigned type per item size.
template <typename F>
void dispatch_bytes(DType dtype, F&& f) {
  switch (itemsize(dtype)) {
    case 1: return f.template operator()<std::uint8_t>();
    case 2: return f.template operator()<std::uint16_t>();
    case 4: return f.template operator()<std::uint32_t>();
    case 8: return f.template operator()<std::uint64_t>();
    default: throw DTypeError("[cuda] unsupported item size");
  }
}

/// Blocks for one thread per `per_thread` items (no grid-stride loop; n < 2^31).
inline unsigned blocks_for(std::int64_t n, int per_thread) {
  const std::int64_t per_block = static_cast<std::int64_t>(kBlock) * per_thread;
  return static_cast<unsigned>(std::max<std::int64_t>((n + per_block - 1) / per_block, 1));
}

/// Blocks for a grid-stride loop over n items.
inline unsigned grid_for(std::int64_t n, int per_thread = 1) {
  const std::int64_t per_block = static_cast<std::int64_t>(kBlock) * per_thread;
  const std::int64_t blocks = (n + per_block - 1) / per_block;
  return static_cast<unsigned>(std::clamp<std::int64_t>(blocks, 1, std::int64_t{1} << 22));
}

}  // namespace peftcpp::cuda::kernels
