// SafetensorsFile: validates a whole file image on open, then serves zero-copy views.
//
// Validation follows safetensors@24b0b28 `SafeTensors::read_metadata` + `Metadata::validate`
// (header length capped at 100 MB and bounded by the file, UTF-8, every tensor's byte size equal
// to prod(shape) * itemsize with overflow checks, the tensors tiling the data section exactly:
// no overlap, no gap, nothing after the last tensor) and is stricter where Rust is lenient:
// unknown fields in a tensor entry, duplicate tensor keys (serde's flattened map keeps the last), a
// header not starting with '{' (the README requires it), raw NUL bytes, dims above INT64_MAX and
// shapes of more than 1024 dims are errors here. `"__metadata__": null` is accepted as no metadata,
// as Rust.
#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "io/safetensors/byte_source.h"
#include "io/safetensors/errors.h"
#include "io/safetensors/json_parse.h"
#include "io/safetensors/safetensors.h"
#include "io/safetensors/st_dtype.h"
#include "tensor/error.h"

namespace peftcpp {

using namespace safetensors_detail;

struct SafetensorsFile::Impl {
  std::string path;
  std::shared_ptr<const ByteSource> bytes;
  std::uint64_t header_size = 0;
  const std::uint8_t* data = nullptr;  // start of the data section
  std::uint64_t data_size = 0;
  std::vector<SafetensorsEntry> entries;
  std::vector<const StDTypeInfo*> infos;  // parallel to entries
  std::unordered_map<std::string, std::size_t> index;
  std::map<std::string, std::string> metadata;

  std::size_t find(const std::string& name) const {
    const auto it = index.find(name);
    if (it == index.end())
      fail(path, "no tensor " + quote_name(name) + " in the file");
    return it->second;
  }
};

namespace {

constexpr std::uint64_t kMaxHeaderSize = 100'000'000;  // as the Rust library
constexpr std::uint64_t kLengthPrefix = 8;

// "[2, 3]"; hostile shapes are cut after 16 dims to keep messages short.
template <typename T>
std::string shape_string(const std::vector<T>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i)
      out += ", ";
    if (i == 16) {
      out += "... (" + std::to_string(shape.size()) + " dims)";
      break;
    }
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

std::string range_string(std::uint64_t begin, std::uint64_t end) {
  // Appends rather than "[" + ... (that trips a GCC 12 -Wrestrict false positive).
  std::string out = "[";
  out += std::to_string(begin);
  out += ", ";
  out += std::to_string(end);
  out += ')';
  return out;
}

// Checks one tensor against its dtype and the data section; returns the public entry.
SafetensorsEntry check_tensor(
    const RawTensor& raw,
    std::uint64_t data_size,
    const std::string& file,
    const StDTypeInfo*& info_out) {
  const StDTypeInfo* info = find_st_dtype(raw.dtype);
  if (info == nullptr) {
    fail(
        file,
        raw.name,
        "unknown dtype " + quote_name(raw.dtype) + " (supported: " + supported_st_dtypes() + ")");
  }
  if (info->conversion == Conversion::Unsupported) {
    fail(
        file,
        raw.name,
        "unsupported dtype " + raw.dtype + " (supported: " + supported_st_dtypes() + ")");
  }
  SafetensorsEntry e;
  e.name = raw.name;
  e.dtype = info->target;
  e.st_dtype = raw.dtype;
  e.begin = raw.begin;
  e.end = raw.end;
  // Left-to-right checked product, as Rust's try_fold: an overflow is an error even when a later
  // dim is 0.
  std::uint64_t numel = 1;
  for (const std::uint64_t d : raw.shape) {
    if (d > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      fail(
          file,
          raw.name,
          "dimension " + std::to_string(d) + " in shape " + shape_string(raw.shape) +
              " exceeds 2^63 - 1");
    }
    if (__builtin_mul_overflow(numel, d, &numel)) {
      fail(
          file,
          raw.name,
          "shape " + shape_string(raw.shape) + " overflows: its element count exceeds 2^64");
    }
    e.shape.push_back(static_cast<std::int64_t>(d));
  }
  // Loadable dtypes are whole bytes (sub-byte F4/F6 were rejected above).
  std::uint64_t nbytes = 0;
  if (numel > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    fail(
        file,
        raw.name,
        "shape " + shape_string(raw.shape) + " overflows: its element count exceeds 2^63 - 1");
  }
  if (__builtin_mul_overflow(numel, static_cast<std::uint64_t>(info->bits / 8), &nbytes)) {
    fail(
        file,
        raw.name,
        raw.dtype + " " + shape_string(raw.shape) + " overflows: its byte size exceeds 2^64");
  }
  if (raw.begin > raw.end)
    fail(file, raw.name, "data_offsets " + range_string(raw.begin, raw.end) + " are reversed");
  if (raw.end > data_size) {
    fail(
        file,
        raw.name,
        "data_offsets " + range_string(raw.begin, raw.end) + " exceed the data section (" +
            std::to_string(data_size) + " bytes)");
  }
  if (nbytes != raw.end - raw.begin) {
    fail(
        file,
        raw.name,
        "data_offsets " + range_string(raw.begin, raw.end) + " hold " +
            std::to_string(raw.end - raw.begin) + " bytes but " + raw.dtype + " " +
            shape_string(raw.shape) + " needs " + std::to_string(nbytes));
  }
  info_out = info;
  return e;
}

// The tensors must tile [0, data_size) exactly.
void check_coverage(
    const std::vector<SafetensorsEntry>& entries,
    std::uint64_t data_size,
    const std::string& file) {
  std::vector<std::size_t> order(entries.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::pair(entries[a].begin, entries[a].end) <
           std::pair(entries[b].begin, entries[b].end);
  });
  std::uint64_t pos = 0;
  const SafetensorsEntry* prev = nullptr;
  for (const std::size_t i : order) {
    const auto& e = entries[i];
    if (e.begin < pos) {
      fail(
          file,
          e.name,
          "data_offsets " + range_string(e.begin, e.end) + " overlap tensor " +
              quote_name(prev->name) + " at " + range_string(prev->begin, prev->end));
    }
    if (e.begin > pos) {
      fail(
          file,
          e.name,
          "data_offsets " + range_string(e.begin, e.end) + " leave a gap: bytes " +
              range_string(pos, e.begin) + " of the data section belong to no tensor");
    }
    pos = e.end;
    prev = &e;
  }
  if (pos != data_size) {
    fail(
        file,
        "the data section has " + std::to_string(data_size) + " bytes but the tensors cover only " +
            std::to_string(pos) + " (trailing bytes after the last tensor)");
  }
}

}  // namespace

bool SafetensorsEntry::is_native() const {
  const auto* info = find_st_dtype(st_dtype);
  return info != nullptr && info->conversion == Conversion::None;
}

std::int64_t SafetensorsEntry::numel() const {
  std::int64_t n = 1;
  for (const auto d : shape) n *= d;  // validated on open to fit in int64
  return n;
}

SafetensorsFile::SafetensorsFile(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

std::shared_ptr<const SafetensorsFile::Impl> SafetensorsFile::load(std::shared_ptr<Impl> impl) {
  const std::string& file = impl->path;
  const std::uint64_t size = impl->bytes->size();
  const std::uint8_t* base = impl->bytes->data();
  if (size < kLengthPrefix) {
    fail(
        file,
        size == 0
            ? std::string("file is empty")
            : "file is " + std::to_string(size) + " bytes, too short for the 8-byte header length");
  }
  std::uint64_t n = 0;
  std::memcpy(&n, base, 8);  // little-endian host (static_assert in st_dtype.cpp)
  if (n > kMaxHeaderSize) {
    fail(
        file,
        "header length " + std::to_string(n) + " exceeds the limit of " +
            std::to_string(kMaxHeaderSize) + " bytes");
  }
  if (n > size - kLengthPrefix) {
    fail(
        file,
        "header length " + std::to_string(n) + " exceeds the " +
            std::to_string(size - kLengthPrefix) +
            " bytes after the length prefix (truncated file?)");
  }
  RawHeader header = parse_header_json(
      std::string_view(
          reinterpret_cast<const char*>(base + kLengthPrefix), static_cast<std::size_t>(n)),
      file);
  impl->header_size = n;
  impl->data = base + kLengthPrefix + n;
  impl->data_size = size - kLengthPrefix - n;
  impl->metadata = std::move(header.metadata);
  impl->entries.reserve(header.tensors.size());
  impl->infos.reserve(header.tensors.size());
  for (const auto& raw : header.tensors) {
    const StDTypeInfo* info = nullptr;
    impl->entries.push_back(check_tensor(raw, impl->data_size, file, info));
    impl->infos.push_back(info);
  }
  check_coverage(impl->entries, impl->data_size, file);
  impl->index.reserve(impl->entries.size());
  for (std::size_t i = 0; i < impl->entries.size(); ++i)
    impl->index.emplace(impl->entries[i].name, i);
  return impl;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  auto impl = std::make_shared<Impl>();
  impl->path = path;
  impl->bytes = map_file(path);
  return SafetensorsFile(load(std::move(impl)));
}

SafetensorsFile SafetensorsFile::from_bytes(std::vector<std::uint8_t> bytes, std::string name) {
  auto impl = std::make_shared<Impl>();
  impl->path = std::move(name);
  impl->bytes = own_bytes(std::move(bytes));
  return SafetensorsFile(load(std::move(impl)));
}

const std::vector<SafetensorsEntry>& SafetensorsFile::entries() const {
  return impl_->entries;
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  return impl_->entries[impl_->find(name)];
}

bool SafetensorsFile::contains(const std::string& name) const {
  return impl_->index.count(name) != 0;
}

std::span<const std::uint8_t> SafetensorsFile::raw_bytes(const std::string& name) const {
  const auto& e = entry(name);
  return {impl_->data + e.begin, static_cast<std::size_t>(e.end - e.begin)};
}

std::vector<std::uint8_t> SafetensorsFile::read_converted(
    const std::string& name, DType& out_dtype) const {
  const std::size_t i = impl_->find(name);
  const auto& e = impl_->entries[i];
  auto out = convert_elements(
      {impl_->data + e.begin, static_cast<std::size_t>(e.end - e.begin)}, *impl_->infos[i]);
  out_dtype = e.dtype;
  return out;
}

const std::map<std::string, std::string>& SafetensorsFile::metadata() const {
  return impl_->metadata;
}

std::shared_ptr<const void> SafetensorsFile::keepalive() const {
  return impl_->bytes;
}

const std::string& SafetensorsFile::path() const {
  return impl_->path;
}

std::uint64_t SafetensorsFile::header_size() const {
  return impl_->header_size;
}

std::uint64_t SafetensorsFile::data_size() const {
  return impl_->data_size;
}

}  // namespace peftcpp
