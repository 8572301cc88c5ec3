// safetensors dtype table and the widening conversions (fp8 -> float32, U16/U32 -> signed).
// Bit layouts of the fp8 formats: OCP "8-bit Floating Point Specification (OFP8)" rev 1.0 for
// E4M3FN/E5M2, the OCP MX spec for E8M0, and Graphcore's FNUZ variants (arXiv:2206.02915).
#include "io/safetensors/st_dtype.h"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "tensor/error.h"

namespace peftcpp::safetensors_detail {

static_assert(
    std::endian::native == std::endian::little,
    "safetensors stores little-endian data; big-endian hosts need byte swapping");

namespace {

// Declaration order of the Rust enum (safetensors@24b0b28); rust_order is the index.
constexpr std::array<StDTypeInfo, 22> kTable{{
    {"BOOL", 0, 8, DType::Bool, Conversion::None},
    {"F4", 1, 4, DType::Float32, Conversion::Unsupported},
    {"F6_E2M3", 2, 6, DType::Float32, Conversion::Unsupported},
    {"F6_E3M2", 3, 6, DType::Float32, Conversion::Unsupported},
    {"U8", 4, 8, DType::UInt8, Conversion::None},
    {"I8", 5, 8, DType::Int8, Conversion::None},
    {"F8_E5M2", 6, 8, DType::Float32, Conversion::Fp8E5M2},
    {"F8_E4M3", 7, 8, DType::Float32, Conversion::Fp8E4M3},
    {"F8_E8M0", 8, 8, DType::Float32, Conversion::Fp8E8M0},
    {"F8_E4M3FNUZ", 9, 8, DType::Float32, Conversion::Fp8E4M3Fnuz},
    {"F8_E5M2FNUZ", 10, 8, DType::Float32, Conversion::Fp8E5M2Fnuz},
    {"I16", 11, 16, DType::Int16, Conversion::None},
    {"U16", 12, 16, DType::Int32, Conversion::U16ToI32},
    {"F16", 13, 16, DType::Float16, Conversion::None},
    {"BF16", 14, 16, DType::BFloat16, Conversion::None},
    {"I32", 15, 32, DType::Int32, Conversion::None},
    {"U32", 16, 32, DType::Int64, Conversion::U32ToI64},
    {"F32", 17, 32, DType::Float32, Conversion::None},
    {"C64", 18, 64, DType::Float32, Conversion::Unsupported},
    {"F64", 19, 64, DType::Float64, Conversion::None},
    {"I64", 20, 64, DType::Int64, Conversion::None},
    {"U64", 21, 64, DType::Int64, Conversion::Unsupported},
}};

const StDTypeInfo& native_info(DType dtype) {
  for (const auto& info : kTable) {
    if (info.conversion == Conversion::None && info.target == dtype)
      return info;
  }
  throw DTypeError("[safetensors] no safetensors dtype for " + std::string(dtype_name(dtype)));
}

// Generic minifloat decode: 1 sign bit, `e` exponent bits, `m` mantissa bits, `bias`.
float minifloat(std::uint8_t byte, int e, int m, int bias) {
  const bool neg = (byte >> 7) & 1u;
  const int exp = (byte >> m) & ((1 << e) - 1);
  const int mant = byte & ((1 << m) - 1);
  // Subnormals: mant * 2^(1 - bias - m); normals: (2^m + mant) * 2^(exp - bias - m).
  const float mag = exp == 0 ? std::ldexp(static_cast<float>(mant), 1 - bias - m)
                             : std::ldexp(static_cast<float>((1 << m) + mant), exp - bias - m);
  return neg ? -mag : mag;
}

template <typename Out>
void widen_ints(
    std::span<const std::uint8_t> raw, std::size_t in_size, std::vector<std::uint8_t>& out) {
  const std::size_t n = raw.size() / in_size;
  out.resize(n * sizeof(Out));
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t v = 0;
    std::memcpy(&v, raw.data() + i * in_size, in_size);  // little-endian host
    const auto o = static_cast<Out>(v);
    std::memcpy(out.data() + i * sizeof(Out), &o, sizeof(Out));
  }
}

}  // namespace

const StDTypeInfo* find_st_dtype(std::string_view name) {
  for (const auto& info : kTable) {
    if (info.name == name)
      return &info;
  }
  return nullptr;
}

std::string_view st_dtype_name(DType dtype) {
  return native_info(dtype).name;
}

int st_rust_order(DType dtype) {
  return native_info(dtype).rust_order;
}

std::string supported_st_dtypes() {
  std::string out;
  for (const auto& info : kTable) {
    if (info.conversion == Conversion::Unsupported)
      continue;
    if (!out.empty())
      out += ", ";
    out += info.name;
  }
  return out;
}

float decode_fp8(std::uint8_t byte, Conversion conversion) {
  constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
  const bool neg = (byte & 0x80u) != 0;
  switch (conversion) {
    case Conversion::Fp8E4M3:
      if ((byte & 0x7fu) == 0x7fu)
        return neg ? -kNaN : kNaN;
      return minifloat(byte, 4, 3, 7);
    case Conversion::Fp8E5M2:
      if ((byte & 0x7cu) == 0x7cu) {
        if ((byte & 0x03u) != 0)
          return neg ? -kNaN : kNaN;
        return neg ? -std::numeric_limits<float>::infinity()
                   : std::numeric_limits<float>::infinity();
      }
      return minifloat(byte, 5, 2, 15);
    case Conversion::Fp8E8M0:
      if (byte == 0xffu)
        return kNaN;
      return std::ldexp(1.0f, static_cast<int>(byte) - 127);
    case Conversion::Fp8E4M3Fnuz:
      if (byte == 0x80u)
        return kNaN;
      return minifloat(byte, 4, 3, 8);
    case Conversion::Fp8E5M2Fnuz:
      if (byte == 0x80u)
        return kNaN;
      return minifloat(byte, 5, 2, 16);
    default:
      break;
  }
  throw DTypeError("[safetensors] decode_fp8 called with a non-fp8 conversion");
}

std::vector<std::uint8_t> convert_elements(
    std::span<const std::uint8_t> raw, const StDTypeInfo& info) {
  std::vector<std::uint8_t> out;
  switch (info.conversion) {
    case Conversion::None:
      out.assign(raw.begin(), raw.end());
      return out;
    case Conversion::U16ToI32:
      widen_ints<std::int32_t>(raw, 2, out);
      return out;
    case Conversion::U32ToI64:
      widen_ints<std::int64_t>(raw, 4, out);
      return out;
    case Conversion::Unsupported:
      throw DTypeError("[safetensors] unsupported dtype " + std::string(info.name));
    default: {  // fp8 -> float32 through a 256-entry table
      std::array<float, 256> lut{};
      for (int b = 0; b < 256; ++b)
        lut[b] = decode_fp8(static_cast<std::uint8_t>(b), info.conversion);
      out.resize(raw.size() * sizeof(float));
      for (std::size_t i = 0; i < raw.size(); ++i) {
        std::memcpy(out.data() + i * sizeof(float), &lut[raw[i]], sizeof(float));
      }
      return out;
    }
  }
}

}  // namespace peftcpp::safetensors_detail
