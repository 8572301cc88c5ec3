// Helpers for the io/safetensors tests: hand-built file images, a scratch directory, the golden
// directory and exception checks.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "tensor/error.h"

namespace peftcpp::st_test {

namespace fs = std::filesystem;

/// 8-byte little-endian length + `header` (verbatim, no padding) + `data`.
inline std::vector<std::uint8_t> make_image(
    const std::string& header, const std::vector<std::uint8_t>& data = {}) {
  // resize + memcpy: vector::insert here trips a GCC 12 -Warray-bounds false positive at -O3.
  std::vector<std::uint8_t> out(8 + header.size() + data.size());
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(n >> (8 * i));
  if (!header.empty())
    std::memcpy(out.data() + 8, header.data(), header.size());
  if (!data.empty())
    std::memcpy(out.data() + 8 + header.size(), data.data(), data.size());
  return out;
}

/// `n` bytes 0, 1, 2, ...
inline std::vector<std::uint8_t> iota_bytes(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i);
  return v;
}

template <typename T>
std::vector<std::uint8_t> to_bytes(std::initializer_list<T> values) {
  std::vector<std::uint8_t> out(values.size() * sizeof(T));
  std::memcpy(out.data(), values.begin(), out.size());
  return out;
}

template <typename T>
std::vector<T> from_bytes_as(const std::uint8_t* p, std::size_t nbytes) {
  std::vector<T> out(nbytes / sizeof(T));
  std::memcpy(out.data(), p, out.size() * sizeof(T));
  return out;
}

inline std::vector<std::uint8_t> read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_all(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(
      reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

/// A fresh directory under $TMPDIR, removed with its content on destruction.
class TmpDir {
 public:
  TmpDir() {
    std::string tmpl = (fs::temp_directory_path() / "peftcpp_st_XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TmpDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TmpDir(const TmpDir&) = delete;
  TmpDir& operator=(const TmpDir&) = delete;
  const fs::path& path() const {
    return path_;
  }
  std::string file(const std::string& name) const {
    return (path_ / name).string();
  }
  /// Names of every entry in the directory, sorted.
  std::vector<std::string> listing() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  fs::path path_;
};

/// $PEFTCPP_GOLDEN_DIR, else <source root>/../shared/golden; empty when neither exists.
inline fs::path golden_dir() {
  if (const char* env = std::getenv("PEFTCPP_GOLDEN_DIR"); env != nullptr && *env) {
    return fs::is_directory(env) ? fs::path(env) : fs::path();
  }
#ifdef PEFTCPP_SOURCE_ROOT
  const fs::path p = fs::path(PEFTCPP_SOURCE_ROOT) / ".." / "shared" / "golden";
  if (fs::is_directory(p))
    return fs::canonical(p);
#endif
  return {};
}

/// Runs `fn`, requires it to throw `E`, and requires the message to contain every fragment.
template <typename E = IoError, typename Fn>
std::string require_throws(Fn&& fn, std::initializer_list<std::string> fragments) {
  std::string what;
  bool thrown = false;
  try {
    fn();
  } catch (const E& e) {
    thrown = true;
    what = e.what();
  }
  REQUIRE_MESSAGE(thrown, "expected an exception");
  for (const auto& f : fragments)
    CHECK_MESSAGE(what.find(f) != std::string::npos, "'" << f << "' not in: " << what);
  return what;
}

}  // namespace peftcpp::st_test

namespace peftcpp::st_test {

/// One tensor for build_file(): placed in the data section in the order given.
struct HandTensor {
  std::string name;
  std::string dtype;
  std::string shape;  // JSON text, e.g. "[2,3]"
  std::vector<std::uint8_t> bytes;
};

/// A file image built independently of the library's writer: offsets assigned in list order.
inline std::vector<std::uint8_t> build_file(
    const std::vector<HandTensor>& tensors, const std::string& metadata_json = "") {
  std::string header = "{";
  if (!metadata_json.empty())
    header += "\"__metadata__\":" + metadata_json;
  std::vector<std::uint8_t> data;
  for (const auto& t : tensors) {
    if (header.size() > 1)
      header += ",";
    header += "\"" + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":" + t.shape +
              ",\"data_offsets\":[" + std::to_string(data.size()) + "," +
              std::to_string(data.size() + t.bytes.size()) + "]}";
    data.insert(data.end(), t.bytes.begin(), t.bytes.end());
  }
  header += "}";
  return make_image(header, data);
}

}  // namespace peftcpp::st_test
