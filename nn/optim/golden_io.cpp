// TEMPORARY safetensors reader for the optimizer golden checker (see golden_io.h).
#include "nn/optim/golden_io.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <vector>

#include "tensor/ops.h"

namespace peftcpp::nn::optim::golden_detail {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw IoError("[golden] " + path + ": " + what);
}

DType st_dtype(const std::string& s, const std::string& path) {
  if (s == "F64")
    return kFloat64;
  if (s == "F32")
    return kFloat32;
  if (s == "F16")
    return kFloat16;
  if (s == "BF16")
    return kBFloat16;
  if (s == "I64")
    return kInt64;
  if (s == "I32")
    return kInt32;
  if (s == "I16")
    return kInt16;
  if (s == "I8")
    return kInt8;
  if (s == "U8")
    return kUInt8;
  if (s == "BOOL")
    return kBool;
  fail(path, "unsupported dtype '" + s + "'");
}

}  // namespace

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    throw IoError("[golden] cannot open " + path);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::map<std::string, Tensor> read_safetensors(const std::string& path) {
  const std::string bytes = read_text_file(path);
  if (bytes.size() < 8)
    fail(path, "file shorter than the 8-byte header length");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  if (n > bytes.size() - 8)
    fail(path, "header length " + std::to_string(n) + " exceeds the file size");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, n));
  } catch (const std::exception& e) {
    fail(path, std::string("malformed header JSON: ") + e.what());
  }
  if (!header.is_object())
    fail(path, "header is not a JSON object");
  const std::size_t data_start = 8 + n;
  const std::size_t data_size = bytes.size() - data_start;
  std::map<std::string, Tensor> out;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__")
      continue;
    const nlohmann::json& e = it.value();
    try {
      const DType dt = st_dtype(e.at("dtype").get<std::string>(), path);
      Shape shape = e.at("shape").get<std::vector<std::int64_t>>();
      const auto offs = e.at("data_offsets").get<std::vector<std::uint64_t>>();
      if (offs.size() != 2 || offs[0] > offs[1] || offs[1] > data_size)
        fail(path, it.key() + ": bad data_offsets");
      const std::uint64_t want = static_cast<std::uint64_t>(shape_numel(shape)) * itemsize(dt);
      if (offs[1] - offs[0] != want)
        fail(path, it.key() + ": byte size does not match shape and dtype");
      Tensor t = empty(shape, dt, kCPU);
      if (want)
        std::memcpy(t.raw_data(), bytes.data() + data_start + offs[0], want);
      out[it.key()] = t;
    } catch (const nlohmann::json::exception& ex) {
      fail(path, it.key() + ": malformed entry: " + ex.what());
    }
  }
  return out;
}

}  // namespace peftcpp::nn::optim::golden_detail
