// Malformed and hostile safetensors files: each must raise IoError naming the file, the tensor
// where there is one, and the problem; none may crash, hang or allocate absurd amounts.
#include <sys/stat.h>

#include "io/safetensors/safetensors.h"
#include "st_test_util.h"

using namespace peftcpp;
using namespace peftcpp::st_test;

namespace {

const std::string kName = "hostile.safetensors";

// Parses `header` (verbatim) followed by `data` and requires an IoError with these fragments.
std::string reject(
    const std::string& header,
    std::vector<std::uint8_t> data,
    std::initializer_list<std::string> fragments) {
  auto img = make_image(header, data);
  return require_throws([&] { SafetensorsFile::from_bytes(img, kName); }, fragments);
}

std::string entry(
    const std::string& name,
    const std::string& dtype,
    const std::string& shape,
    std::uint64_t b,
    std::uint64_t e) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":[" + std::to_string(b) + "," + std::to_string(e) + "]}";
}

std::vector<std::uint8_t> with_length(std::uint64_t n, const std::vector<std::uint8_t>& rest) {
  std::vector<std::uint8_t> out(8 + rest.size());
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(n >> (8 * i));
  if (!rest.empty())
    std::memcpy(out.data() + 8, rest.data(), rest.size());
  return out;
}

}  // namespace

TEST_CASE("files that cannot hold a header are rejected: empty, shorter than 8 bytes") {
  TmpDir dir;
  write_all(dir.path() / "empty.safetensors", {});
  require_throws(
      [&] { SafetensorsFile::open(dir.file("empty.safetensors")); },
      {dir.file("empty.safetensors"), "file is empty"});
  write_all(dir.path() / "short.safetensors", {1, 2, 3, 4, 5});
  require_throws(
      [&] { SafetensorsFile::open(dir.file("short.safetensors")); },
      {"short.safetensors", "5 bytes, too short"});
}

TEST_CASE("a directory, a missing file and a FIFO are rejected with the reason") {
  TmpDir dir;
  require_throws(
      [&] { SafetensorsFile::open(dir.path().string()); }, {dir.path().string(), "is a directory"});
  require_throws(
      [&] { SafetensorsFile::open(dir.file("nope.safetensors")); },
      {"nope.safetensors", "cannot open", "No such file or directory"});
  REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0600) == 0);
  require_throws([&] { SafetensorsFile::open(dir.file("fifo")); }, {"fifo", "not a regular file"});
}

TEST_CASE("a header length beyond the file, 2^63 or above the 100 MB cap is rejected") {
  require_throws(
      [] { SafetensorsFile::from_bytes(with_length(1000, iota_bytes(20)), kName); },
      {kName, "header length 1000 exceeds the 20 bytes after the length prefix"});
  require_throws(
      [] {
        SafetensorsFile::from_bytes(with_length(std::uint64_t{1} << 63, iota_bytes(20)), kName);
      },
      {kName, "header length 9223372036854775808 exceeds the limit"});
  require_throws(
      [] { SafetensorsFile::from_bytes(with_length(~std::uint64_t{0}, {}), kName); },
      {kName, "exceeds the limit"});
  require_throws(
      [] { SafetensorsFile::from_bytes(with_length(100'000'001, iota_bytes(8)), kName); },
      {kName, "100000001 exceeds the limit of 100000000"});
}

TEST_CASE("a truncated file is rejected whether the cut falls in the data or in the header") {
  auto img = build_file({{"w", "F32", "[4]", iota_bytes(16)}});
  auto cut = img;
  cut.resize(cut.size() - 4);
  require_throws(
      [&] { SafetensorsFile::from_bytes(cut, kName); },
      {kName, "tensor 'w'", "data_offsets [0, 16) exceed the data section (12 bytes)"});
  cut.resize(30);
  require_throws(
      [&] { SafetensorsFile::from_bytes(cut, kName); }, {kName, "header length", "truncated"});
}

TEST_CASE("overlapping data offsets are rejected naming both tensors") {
  reject(
      "{" + entry("a", "U8", "[16]", 0, 16) + "," + entry("b", "U8", "[16]", 8, 24) + "}",
      iota_bytes(24),
      {kName, "tensor 'b'", "overlap tensor 'a' at [0, 16)"});
  // The same range twice is an overlap too.
  reject(
      "{" + entry("a", "U8", "[8]", 0, 8) + "," + entry("b", "U8", "[8]", 0, 8) + "}",
      iota_bytes(8),
      {kName, "overlap"});
}

TEST_CASE("a gap between tensors and bytes after the last tensor are rejected") {
  reject(
      "{" + entry("a", "U8", "[8]", 0, 8) + "," + entry("b", "U8", "[8]", 16, 24) + "}",
      iota_bytes(24),
      {kName, "tensor 'b'", "gap: bytes [8, 16)"});
  reject(
      "{" + entry("a", "U8", "[8]", 8, 16) + "}",
      iota_bytes(16),
      {kName, "tensor 'a'", "gap: bytes [0, 8)"});
  // Trailing data after the data section (a polyglot file) is not silently ignored.
  reject(
      "{" + entry("a", "U8", "[8]", 0, 8) + "}",
      iota_bytes(24),
      {kName, "data section has 24 bytes but the tensors cover only 8"});
}

TEST_CASE("a byte range that does not match dtype and shape is rejected with both sizes") {
  reject(
      "{" + entry("w", "F32", "[2,2]", 0, 12) + "}",
      iota_bytes(12),
      {"[safetensors] hostile.safetensors: tensor 'w': data_offsets [0, 12) hold 12 bytes but F32 "
       "[2, 2] needs 16"});
  reject(
      "{" + entry("w", "F32", "[2]", 8, 0) + "}", iota_bytes(8), {kName, "tensor 'w'", "reversed"});
}

TEST_CASE("huge dims never wrap: 1e18, products beyond 2^64, dims beyond 2^63, non-integers") {
  reject(
      "{" + entry("w", "F32", "[1000000000000000000]", 0, 4) + "}",
      iota_bytes(4),
      {kName, "tensor 'w'", "needs 4000000000000000000"});
  reject(
      "{" + entry("w", "F32", "[4294967296,4294967296]", 0, 0) + "}",
      {},
      {kName, "tensor 'w'", "shape [4294967296, 4294967296] overflows"});
  // The product fits in 64 bits but the byte size does not.
  reject(
      "{" + entry("w", "F64", "[2305843009213693952]", 0, 0) + "}",
      {},
      {kName, "tensor 'w'", "byte size exceeds"});
  // Overflow is an error even when a later dim is 0 (as the Rust library's checked fold).
  reject(
      "{" + entry("w", "U8", "[4294967296,4294967296,0]", 0, 0) + "}",
      {},
      {kName, "tensor 'w'", "overflows"});
  reject(
      "{" + entry("w", "U8", "[9223372036854775808]", 0, 0) + "}",
      {},
      {kName, "tensor 'w'", "exceeds 2^63 - 1"});
  reject(
      "{" + entry("w", "U8", "[18446744073709551616]", 0, 0) + "}",
      {},
      {kName, "tensor 'w'", "non-negative integers below 2^64, got 18446744073709551616"});
  reject("{" + entry("w", "U8", "[1e18]", 0, 0) + "}", {}, {kName, "tensor 'w'", "got 1e18"});
  reject("{" + entry("w", "U8", "[2.5]", 0, 0) + "}", {}, {kName, "tensor 'w'", "got 2.5"});
}

TEST_CASE("shapes of more than 1024 dims are rejected and long shapes are cut in messages") {
  std::string ones = "[1";
  for (int i = 0; i < 1024; ++i) ones += ",1";
  reject(
      "{" + entry("w", "U8", ones + "]", 0, 1) + "}", {0}, {kName, "tensor 'w'", "more than 1024"});
  std::string wide = "[4294967296";
  for (int i = 0; i < 40; ++i) wide += ",4294967296";
  const auto what = reject("{" + entry("w", "U8", wide + "]", 0, 0) + "}", {}, {"... (41 dims)]"});
  CHECK(what.size() < 400);
}

TEST_CASE("negative dims and negative offsets are rejected") {
  reject(
      "{" + entry("w", "U8", "[2,-1]", 0, 0) + "}",
      {},
      {kName, "tensor 'w'", "negative dimension -1"});
  reject(
      R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}})",
      {},
      {kName, "tensor 'w'", "negative value -1"});
}

TEST_CASE("duplicate keys are rejected at every level") {
  reject(
      "{" + entry("w", "U8", "[1]", 0, 1) + "," + entry("w", "U8", "[1]", 1, 2) + "}",
      iota_bytes(2),
      {kName, "tensor 'w'", "appears twice"});
  reject(R"({"__metadata__":{},"__metadata__":{}})", {}, {kName, "duplicate key '__metadata__'"});
  reject(R"({"__metadata__":{"a":"1","a":"2"}})", {}, {kName, "duplicate key 'a' in __metadata__"});
  reject(
      R"({"w":{"dtype":"U8","dtype":"U8","shape":[0],"data_offsets":[0,0]}})",
      {},
      {kName, "tensor 'w'", "duplicate field 'dtype'"});
}

TEST_CASE("a header that is not a JSON object is rejected") {
  for (const std::string h : {"[1,2]", "\"x\"", "5", "null", "true"}) {
    CAPTURE(h);
    reject(h, {}, {kName, "header must be a JSON object"});
  }
}

TEST_CASE("invalid JSON, trailing garbage and NUL padding in the header are rejected") {
  reject("{", {}, {kName, "invalid JSON in header"});
  reject("", {}, {kName, "header must be a JSON object starting with '{'"});
  reject(" {}     ", {}, {kName, "starting with '{' at its first byte"});  // spec: no leading space
  reject(R"({"w":)", {}, {kName, "invalid JSON in header"});
  reject("{}xyz", {}, {kName, "invalid JSON in header"});
  reject("{}{}", {}, {kName, "invalid JSON in header"});
  reject(
      std::string("{}\0\0\0\0\0\0", 8), {}, {kName, "invalid JSON in header: NUL byte at byte 2"});
  reject(
      std::string("{}\0garbage", 10),
      {},
      {kName, "NUL byte"});  // nlohmann alone would stop at the NUL
  reject(std::string("{\"a\0\":5}", 8), {}, {kName, "NUL byte at byte 3"});
  reject(R"({"w":{"dtype":"U8",}})", {}, {kName, "invalid JSON"});
  reject("{\"a\":\"\x01\"}", {}, {kName, "invalid JSON"});  // raw control character in a string
}

TEST_CASE("a header that is not UTF-8 is rejected, also inside tensor names and \\u escapes") {
  reject("{\"w\xff\":{}}", {}, {kName, "not valid UTF-8 (byte 3"});
  reject("{\"\xc0\xaf\":{}}", {}, {kName, "not valid UTF-8"});          // overlong '/'
  reject("{\"\xed\xa0\x80\":{}}", {}, {kName, "not valid UTF-8"});      // surrogate
  reject("{\"\xf4\x90\x80\x80\":{}}", {}, {kName, "not valid UTF-8"});  // > U+10FFFF
  reject("{\"\xe2\x82\":{}}", {}, {kName, "not valid UTF-8"});          // cut sequence
  reject(R"({"\ud800":{}})", {}, {kName, "invalid JSON"});              // lone surrogate escape
}

TEST_CASE("wrong JSON types and missing or unknown fields are rejected naming the tensor") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"w":5})", "entry must be an object, got a number"},
      {R"({"w":[]})", "entry must be an object, got an array"},
      {R"({"w":{"dtype":5,"shape":[],"data_offsets":[0,1]}})", "dtype must be a string"},
      {R"({"w":{"dtype":"U8","shape":"2","data_offsets":[0,1]}})",
       "shape must be an array, got a string"},
      {R"({"w":{"dtype":"U8","shape":[true],"data_offsets":[0,1]}})",
       "shape must hold integers, got a boolean"},
      {R"({"w":{"dtype":"U8","shape":[[1]],"data_offsets":[0,1]}})",
       "shape must hold integers, got an array"},
      {R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0]}})", "exactly 2 integers, got 1"},
      {R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}})",
       "exactly 2 integers, got more"},
      {R"({"w":{"dtype":"U8","shape":[1],"data_offsets":{"a":1}}})",
       "data_offsets must be an array"},
      {R"({"w":{"dtype":"U8","shape":[1],"data_offsets":["0","1"]}})",
       "data_offsets must hold integers"},
      {R"({"w":{"dtype":"U8","shape":[1]}})", "missing field 'data_offsets'"},
      {R"({"w":{}})", "missing field 'dtype'"},
      {R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":0}})",
       "unexpected field 'extra'"},
  };
  for (const auto& [header, problem] : cases) {
    CAPTURE(header);
    reject(header, {0}, {kName, "tensor 'w'", problem});
  }
}

TEST_CASE("__metadata__ must be an object of strings") {
  reject(
      R"({"__metadata__":[]})",
      {},
      {kName, "__metadata__ must be an object of strings, got an array"});
  reject(R"({"__metadata__":"pt"})", {}, {kName, "__metadata__ must be an object"});
  reject(
      R"({"__metadata__":{"format":1}})",
      {},
      {kName, "__metadata__ value for 'format' must be a string, got a number"});
  reject(
      R"({"__metadata__":{"format":{"a":"b"}}})",
      {},
      {kName, "'format' must be a string, got an object"});
}

TEST_CASE("deeply nested JSON is rejected at the first level too deep, without recursion") {
  const std::string deep = "{\"w\":{\"shape\":" + std::string(1'000'000, '[') + "}}";
  reject(deep, {}, {kName, "tensor 'w'", "shape must hold integers, got an array"});
  const std::string deep_top = std::string(1'000'000, '[');
  reject(deep_top, {}, {kName, "header must be a JSON object"});
}

TEST_CASE("control characters in hostile tensor names are escaped in messages") {
  const auto what = reject("{\"a\\nb\":5}", {}, {kName, "tensor 'a\\x0ab'"});
  CHECK(what.find('\n') == std::string::npos);
}
