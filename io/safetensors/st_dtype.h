// safetensors dtype strings ("F32", "F8_E4M3", ...) and how each maps onto peftcpp's DType.
//
// Internal header (not installed). The table follows the Rust `Dtype` enum of
// huggingface/safetensors@24b0b28 (safetensors/src/tensor.rs), including its declaration order,
// which the writer uses to order the data section: tensors are sorted by that order descending
// (widest alignment first), then by name.
//
// Mapping policy:
//   * F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL        -> the same DType, zero-copy.
//   * F8_E4M3 F8_E5M2 F8_E8M0 F8_E4M3FNUZ F8_E5M2FNUZ -> widened to Float32 (exact: every fp8
//   value,
//     NaN, infinities and subnormals included, is representable in float32).
//   * U16 -> Int32 and U32 -> Int64 (widened; lossless).
//   * U64, C64, F4, F6_E2M3, F6_E3M2                    -> rejected on open ("unsupported dtype"):
//     U64 has no lossless signed target, C64 has no complex DType, F4/F6 are sub-byte packed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/dtype.h"

namespace peftcpp::safetensors_detail {

/// How raw stored elements become elements of `target`.
enum class Conversion : std::uint8_t {
  None,         // stored bytes already are `target` elements
  Fp8E4M3,      // OCP E4M3FN: bias 7, no infinities, S.1111.111 = NaN
  Fp8E5M2,      // IEEE-like: bias 15, exponent 31 = inf/NaN
  Fp8E8M0,      // unsigned exponent only: 2^(e-127), 0xFF = NaN
  Fp8E4M3Fnuz,  // bias 8, no infinities, no -0: 0x80 = NaN
  Fp8E5M2Fnuz,  // bias 16, no infinities, no -0: 0x80 = NaN
  U16ToI32,
  U32ToI64,
  Unsupported,  // known to safetensors, but not loadable here
};

struct StDTypeInfo {
  std::string_view name;  // as in the header: "F32"
  int rust_order;         // position in the Rust enum; the writer sorts by it, descending
  int bits;               // bits per stored element
  DType target;           // DType after read_converted (meaningless when Unsupported)
  Conversion conversion;
};

/// Looks up a header dtype string; nullptr when safetensors does not know it.
const StDTypeInfo* find_st_dtype(std::string_view name);
/// The safetensors string for a native DType ("F32" for Float32, "BOOL" for Bool, ...).
std::string_view st_dtype_name(DType dtype);
/// The Rust enum position of the safetensors dtype a native DType is written as.
int st_rust_order(DType dtype);
/// Comma-separated names of every loadable dtype (for error messages).
std::string supported_st_dtypes();

/// Decodes one fp8 byte to float32; `conversion` must be one of the Fp8* kinds.
float decode_fp8(std::uint8_t byte, Conversion conversion);
/// Widens `raw` (stored elements) into the bytes of `info.target` elements.
std::vector<std::uint8_t> convert_elements(
    std::span<const std::uint8_t> raw, const StDTypeInfo& info);

}  // namespace peftcpp::safetensors_detail
