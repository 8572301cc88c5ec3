// Strict JSON parsing of safetensors headers and shard indexes (internal; nlohmann lives only in
// json_parse.cpp). Both parsers reject duplicate keys, which nlohmann's DOM would silently merge.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace peftcpp::safetensors_detail {

/// A tensor entry exactly as the header spells it; not yet checked against dtype or file size.
struct RawTensor {
  std::string name;
  std::string dtype;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

struct RawHeader {
  std::vector<RawTensor> tensors;  // header order
  std::map<std::string, std::string> metadata;
};

/// Parses a header: a JSON object whose `__metadata__` is an object of strings (or null) and whose
/// other members are objects with exactly `dtype` (string), `shape` (array of non-negative
/// integers, at most 1024 of them) and `data_offsets` (array of two non-negative integers). Trailing JSON whitespace
/// is allowed (HF pads with spaces); anything else after the object is not. Throws IoError
/// naming `file` and, where known, the tensor.
RawHeader parse_header_json(std::string_view text, const std::string& file);

struct RawIndex {
  std::map<std::string, std::string> metadata;                  // non-strings as compact JSON
  std::vector<std::pair<std::string, std::string>> weight_map;  // tensor -> shard file, sorted
};

/// Parses a `*.safetensors.index.json`; throws IoError naming `file`.
RawIndex parse_index_json(std::string_view text, const std::string& file);

/// Offset of the first byte that is not part of well-formed UTF-8 (RFC 3629: no overlong forms,
/// no surrogates, nothing above U+10FFFF), or npos when `text` is valid.
std::size_t find_invalid_utf8(std::string_view text);

}  // namespace peftcpp::safetensors_detail
