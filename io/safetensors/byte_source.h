// Owners of a safetensors file image: a read-only private mapping or an in-memory vector
// (internal). The reader hands these out, type-erased, as SafetensorsFile::keepalive().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace peftcpp::safetensors_detail {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  const std::uint8_t* data() const {
    return data_;
  }
  std::size_t size() const {
    return size_;
  }

 protected:
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

/// Maps `path` with MAP_PRIVATE + PROT_READ. Throws IoError "[safetensors] <path>: ..." with
/// strerror for missing/unreadable files, and for directories and other non-regular files.
/// An empty file gives an empty source (mmap cannot map 0 bytes).
std::shared_ptr<const ByteSource> map_file(const std::string& path);

/// Takes ownership of an in-memory image.
std::shared_ptr<const ByteSource> own_bytes(std::vector<std::uint8_t> bytes);

}  // namespace peftcpp::safetensors_detail
