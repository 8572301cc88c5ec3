// safetensors writer, byte-identical to Python `safetensors.torch.save_file`.
//
// Port of `prepare` in safetensors/src/tensor.rs @24b0b28: tensors sorted by dtype (Rust enum
// order, descending, i.e. widest alignment first) then by name (bytewise); data offsets assigned
// in that order; header = serde_json compact map with `__metadata__` first (only when metadata
// is given) and the tensors in data order, each as {"dtype","shape","data_offsets"}; header
// padded with spaces to a multiple of 8 bytes. Strings are escaped as serde_json does (\" \\ \b
// \f \n \r \t, other control characters as \u00xx, everything else verbatim).
#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include "io/atomic_file.h"
#include "io/safetensors/errors.h"
#include "io/safetensors/json_parse.h"
#include "io/safetensors/safetensors.h"
#include "io/safetensors/st_dtype.h"
#include "tensor/error.h"

namespace peftcpp {

using namespace safetensors_detail;

namespace {

constexpr std::uint64_t kMaxHeaderSize = 100'000'000;

struct Prepared {
  std::vector<std::uint8_t> head;                   // 8-byte length + padded header
  std::vector<const SafetensorsWriteEntry*> order;  // data-section order
  std::uint64_t data_size = 0;
};

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case 0x08:
        out += "\\b";
        break;
      case 0x09:
        out += "\\t";
        break;
      case 0x0a:
        out += "\\n";
        break;
      case 0x0c:
        out += "\\f";
        break;
      case 0x0d:
        out += "\\r";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

[[noreturn]] void write_error(
    const std::string& where, std::string_view tensor, const std::string& problem) {
  throw ValueError("[safetensors] " + where + ": tensor " + quote_name(tensor) + ": " + problem);
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

void check_utf8(const std::string& where, const std::string& what, std::string_view s) {
  if (find_invalid_utf8(s) != std::string_view::npos) {
    throw ValueError("[safetensors] " + where + ": " + what + " is not valid UTF-8");
  }
}

Prepared prepare(
    const std::vector<SafetensorsWriteEntry>& tensors,
    const std::map<std::string, std::string>& metadata,
    const std::string& where) {
  Prepared p;
  std::set<std::string_view> names;
  for (const auto& t : tensors) {
    if (t.name == "__metadata__")
      write_error(where, t.name, "the name is reserved for the metadata");
    if (!names.insert(t.name).second)
      write_error(where, t.name, "appears twice");
    check_utf8(where, "tensor name " + quote_name(t.name), t.name);
    std::uint64_t numel = 1;
    for (const auto d : t.shape) {
      if (d < 0)
        write_error(where, t.name, "negative dimension in shape " + shape_string(t.shape));
      if (__builtin_mul_overflow(numel, static_cast<std::uint64_t>(d), &numel)) {
        write_error(where, t.name, "shape " + shape_string(t.shape) + " overflows");
      }
    }
    std::uint64_t nbytes = 0;
    if (__builtin_mul_overflow(numel, static_cast<std::uint64_t>(itemsize(t.dtype)), &nbytes)) {
      write_error(where, t.name, "shape " + shape_string(t.shape) + " overflows");
    }
    if (nbytes != t.data.size()) {
      write_error(
          where,
          t.name,
          "data has " + std::to_string(t.data.size()) + " bytes but " +
              std::string(st_dtype_name(t.dtype)) + " " + shape_string(t.shape) + " needs " +
              std::to_string(nbytes));
    }
    p.order.push_back(&t);
  }
  for (const auto& [k, v] : metadata) {
    check_utf8(where, "metadata key " + quote_name(k), k);
    check_utf8(where, "metadata value for " + quote_name(k), v);
  }
  std::stable_sort(p.order.begin(), p.order.end(), [](const auto* a, const auto* b) {
    const int ra = st_rust_order(a->dtype), rb = st_rust_order(b->dtype);
    if (ra != rb)
      return ra > rb;
    return a->name <
           b->name;  // char_traits<char> compares as unsigned char, as Rust's bytewise Ord
  });

  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      if (!first)
        header += ',';
      first = false;
      append_json_string(header, k);
      header += ':';
      append_json_string(header, v);
    }
    header += '}';
  }
  std::uint64_t offset = 0;
  for (const auto* t : p.order) {
    if (header.size() > 1)
      header += ',';
    append_json_string(header, t->name);
    header += ":{\"dtype\":\"";
    header += st_dtype_name(t->dtype);
    header += "\",\"shape\":[";
    for (std::size_t i = 0; i < t->shape.size(); ++i) {
      if (i)
        header += ',';
      header += std::to_string(t->shape[i]);
    }
    header += "],\"data_offsets\":[" + std::to_string(offset) + ',';
    offset += t->data.size();
    header += std::to_string(offset) + "]}";
  }
  header += '}';
  header.resize((header.size() + 7) / 8 * 8, ' ');
  if (header.size() > kMaxHeaderSize) {
    throw ValueError(
        "[safetensors] " + where + ": header of " + std::to_string(header.size()) +
        " bytes exceeds the 100000000-byte limit of the format");
  }
  const std::uint64_t n = header.size();
  p.head.resize(8 + header.size());
  std::memcpy(p.head.data(), &n, 8);  // little-endian host
  std::memcpy(p.head.data() + 8, header.data(), header.size());
  p.data_size = offset;
  return p;
}

}  // namespace

std::vector<std::uint8_t> serialize_safetensors(
    const std::vector<SafetensorsWriteEntry>& tensors,
    const std::map<std::string, std::string>& metadata) {
  Prepared p = prepare(tensors, metadata, "serialize");
  std::vector<std::uint8_t> out = std::move(p.head);
  out.reserve(out.size() + p.data_size);
  for (const auto* t : p.order) out.insert(out.end(), t->data.begin(), t->data.end());
  return out;
}

void write_safetensors(
    const std::string& path,
    const std::vector<SafetensorsWriteEntry>& tensors,
    const std::map<std::string, std::string>& metadata) {
  const Prepared p = prepare(tensors, metadata, path);
  AtomicFileWriter writer(path);
  writer.write(p.head);
  for (const auto* t : p.order) writer.write(t->data);
  writer.commit();
}

}  // namespace peftcpp
