// Error helpers for io/safetensors.
#include "io/safetensors/errors.h"

#include "tensor/error.h"

namespace peftcpp::safetensors_detail {

std::string quote_name(std::string_view name) {
  constexpr std::size_t kMaxShown = 200;
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t limit = name.size() < kMaxShown ? name.size() : kMaxShown;
  // Do not cut a UTF-8 sequence in half.
  while (limit < name.size() && limit > 0 &&
         (static_cast<unsigned char>(name[limit]) & 0xc0) == 0x80) {
    --limit;
  }
  std::string out = "'";
  for (std::size_t i = 0; i < limit; ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += limit < name.size() ? "'..." : "'";
  return out;
}

void fail(const std::string& file, const std::string& problem) {
  throw IoError("[safetensors] " + file + ": " + problem);
}

void fail(const std::string& file, std::string_view tensor, const std::string& problem) {
  throw IoError("[safetensors] " + file + ": tensor " + quote_name(tensor) + ": " + problem);
}

}  // namespace peftcpp::safetensors_detail
