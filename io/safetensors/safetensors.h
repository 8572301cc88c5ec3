// Reading and writing HuggingFace safetensors files, at the byte level.
//
// Format (huggingface/safetensors README): 8-byte little-endian u64 N, N bytes of UTF-8 JSON
// header {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...},
// then the data section; offsets are relative to its start, C order, little endian.
//
// Reading maps the file (MAP_PRIVATE, read-only) and validates the whole header on open; tensor
// bytes are only touched when asked for. Every malformed input raises IoError
// "[safetensors] <file>: tensor '<name>': <problem>". Files truncated by another process while
// mapped can still raise SIGBUS on access, as with any mmap reader.
//
// Writing reproduces Python `safetensors.torch.save_file` byte for byte (data section ordered by
// dtype alignment descending then name, header keys in data order after `__metadata__`,
// serde_json compact output, header padded with spaces to a multiple of 8). The one exception:
// metadata with several keys is written sorted (the Rust writer uses a HashMap, whose order is
// random). Files are written atomically (see io/atomic_file.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tensor/dtype.h"

namespace peftcpp {

/// One tensor described by a safetensors header.
struct SafetensorsEntry {
  std::string name;
  /// Element type after read_converted(): the stored type unless it has to be widened
  /// (F8_* -> Float32, U16 -> Int32, U32 -> Int64).
  DType dtype = DType::Float32;
  /// Stored dtype string as in the header: "F32", "BF16", "F8_E4M3", ...
  std::string st_dtype;
  std::vector<std::int64_t> shape;
  /// Byte range [begin, end) inside the data section.
  std::uint64_t begin = 0;
  std::uint64_t end = 0;

  /// True when raw_bytes() already holds `dtype` elements (a zero-copy view is possible).
  bool is_native() const;
  std::int64_t numel() const;
  std::uint64_t nbytes() const {
    return end - begin;
  }
};

/// A validated, memory-mapped safetensors file. Copies share the mapping.
class SafetensorsFile {
 public:
  /// Maps and validates `path`; throws IoError naming the file, the tensor and the problem.
  static SafetensorsFile open(const std::string& path);
  /// Validates an in-memory file image (tests, fuzzing, downloads). `name` appears in errors.
  static SafetensorsFile from_bytes(std::vector<std::uint8_t> bytes, std::string name = "<memory>");

  /// Tensors in header order (for files written by HF: data-section order).
  const std::vector<SafetensorsEntry>& entries() const;
  /// Throws IoError when `name` is not in the file.
  const SafetensorsEntry& entry(const std::string& name) const;
  bool contains(const std::string& name) const;
  /// Zero-copy view of the stored bytes (valid while this object or keepalive() lives).
  std::span<const std::uint8_t> raw_bytes(const std::string& name) const;
  /// Stored bytes widened where needed (see SafetensorsEntry::dtype); copies native dtypes.
  std::vector<std::uint8_t> read_converted(const std::string& name, DType& out_dtype) const;
  /// The `__metadata__` map (empty when absent).
  const std::map<std::string, std::string>& metadata() const;
  /// Owner of the mapped bytes; hold it to keep raw_bytes() views alive.
  std::shared_ptr<const void> keepalive() const;
  const std::string& path() const;
  /// Header length N (as stored in the first 8 bytes) and size of the data section.
  std::uint64_t header_size() const;
  std::uint64_t data_size() const;

 private:
  struct Impl;
  explicit SafetensorsFile(std::shared_ptr<const Impl> impl);
  static std::shared_ptr<const Impl> load(std::shared_ptr<Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

/// One tensor to write. `data` holds prod(shape) * itemsize(dtype) bytes, little endian, C order.
struct SafetensorsWriteEntry {
  std::string name;
  DType dtype = DType::Float32;
  std::vector<std::int64_t> shape;
  std::span<const std::uint8_t> data;
};

/// Serializes exactly as `safetensors.torch.save_file`. An empty `metadata` writes no
/// `__metadata__` key (as `metadata=None`). Throws ValueError on duplicate or reserved names,
/// negative dims or a data size that does not match the shape.
std::vector<std::uint8_t> serialize_safetensors(
    const std::vector<SafetensorsWriteEntry>& tensors,
    const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

/// Same bytes as serialize_safetensors, streamed into `path` atomically (temp file + rename).
void write_safetensors(
    const std::string& path,
    const std::vector<SafetensorsWriteEntry>& tensors,
    const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

/// A checkpoint split over several files by a `*.safetensors.index.json`
/// ({"metadata": {...}, "weight_map": {tensor: shard file}}). Shards are opened on first use.
/// Copies share the opened shards; safe to use from several threads.
class ShardedSafetensors {
 public:
  /// `dir/model.safetensors.index.json`, or else `dir/model.safetensors` as a single shard.
  static ShardedSafetensors open_dir(const std::string& dir);
  /// Any index file; shard names are resolved relative to its directory.
  static ShardedSafetensors open_index(const std::string& index_path);

  /// Tensor names of the weight map, sorted.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;
  /// Every entry, shard by shard (shards in sorted file order, each in header order). Opens all
  /// shards.
  std::vector<SafetensorsEntry> entries() const;
  const SafetensorsEntry& entry(const std::string& name) const;
  std::span<const std::uint8_t> raw_bytes(const std::string& name) const;
  std::vector<std::uint8_t> read_converted(const std::string& name, DType& out_dtype) const;
  /// Full path of the shard holding `name` (does not open it).
  const std::string& file_for(const std::string& name) const;
  /// The opened shard holding `name` (for keepalive()).
  const SafetensorsFile& shard_for(const std::string& name) const;
  /// Full paths of all shards, sorted.
  std::vector<std::string> shard_files() const;
  /// The index's "metadata"; non-string values are kept as compact JSON text ("total_size":
  /// "1234").
  const std::map<std::string, std::string>& metadata() const;

 private:
  struct Impl;
  explicit ShardedSafetensors(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace peftcpp
