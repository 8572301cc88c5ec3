// Element types and the 16-bit float conversions (round to nearest even, as PyTorch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace peftcpp {

enum class DType : std::uint8_t {
  Float32,
  Float64,
  Float16,
  BFloat16,
  Int8,
  UInt8,
  Int16,
  Int32,
  Int64,
  Bool,
};
inline constexpr int kNumDTypes = 10;

inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;
inline constexpr DType kFloat16 = DType::Float16;
inline constexpr DType kBFloat16 = DType::BFloat16;
inline constexpr DType kInt8 = DType::Int8;
inline constexpr DType kUInt8 = DType::UInt8;
inline constexpr DType kInt16 = DType::Int16;
inline constexpr DType kInt32 = DType::Int32;
inline constexpr DType kInt64 = DType::Int64;
inline constexpr DType kBool = DType::Bool;

/// Bytes per element.
std::size_t itemsize(DType dtype);
/// PyTorch-style name: "float32", "bfloat16", "int64", "bool", ...
const char* dtype_name(DType dtype);
/// Parses a name produced by dtype_name (also accepts "float", "half", "double", "long", "int").
DType dtype_from_name(const std::string& name);
bool is_floating_point(DType dtype);
bool is_integral(DType dtype);  // includes Bool
/// The most negative finite value of a floating dtype (torch.finfo(dtype).min): what attention
/// masks add at masked positions. Throws DTypeError for other dtypes.
double finfo_min(DType dtype);
/// Type promotion of two operands (PyTorch's rules for tensors of the same category order).
DType promote_types(DType a, DType b);

/// IEEE half stored as raw bits.
struct Half {
  std::uint16_t bits = 0;
};
/// bfloat16 stored as raw bits.
struct BFloat16 {
  std::uint16_t bits = 0;
};

inline float bf16_to_float(std::uint16_t bits) {
  std::uint32_t u = static_cast<std::uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline std::uint16_t float_to_bf16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) {
    return static_cast<std::uint16_t>((u >> 16) | 0x0040u);  // quiet NaN, sign kept
  }
  const std::uint32_t rounding_bias = 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>((u + rounding_bias) >> 16);
}

float half_to_float(std::uint16_t bits);
std::uint16_t float_to_half(float f);

/// Maps a C++ type to its DType.
template <typename T>
struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };
template <> struct dtype_of<Half> { static constexpr DType value = DType::Float16; };
template <> struct dtype_of<BFloat16> { static constexpr DType value = DType::BFloat16; };
template <> struct dtype_of<std::int8_t> { static constexpr DType value = DType::Int8; };
template <> struct dtype_of<std::uint8_t> { static constexpr DType value = DType::UInt8; };
template <> struct dtype_of<std::int16_t> { static constexpr DType value = DType::Int16; };
template <> struct dtype_of<std::int32_t> { static constexpr DType value = DType::Int32; };
template <> struct dtype_of<std::int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };
template <typename T>
inline constexpr DType dtype_of_v = dtype_of<T>::value;

}  // namespace peftcpp
