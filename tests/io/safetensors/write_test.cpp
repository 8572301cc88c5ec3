// The writer: exact bytes of HuggingFace's serializer (hand-computed cases and every golden
// file), input validation, and the read/write round trip.
#include "io/safetensors/safetensors.h"
#include "st_test_util.h"

using namespace peftcpp;
using namespace peftcpp::st_test;

namespace {

std::string header_of(const std::vector<std::uint8_t>& file) {
  std::uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  return std::string(file.begin() + 8, file.begin() + 8 + static_cast<std::ptrdiff_t>(n));
}

std::vector<SafetensorsWriteEntry> write_entries_of(const SafetensorsFile& f) {
  std::vector<SafetensorsWriteEntry> out;
  for (const auto& e : f.entries()) out.push_back({e.name, e.dtype, e.shape, f.raw_bytes(e.name)});
  return out;
}

}  // namespace

TEST_CASE("serialize produces the exact bytes of safetensors.torch.save_file") {
  const auto b = to_bytes<float>({1.0f, 2.0f});
  const auto a = to_bytes<float>({3.0f});
  const auto out =
      serialize_safetensors({{"b", DType::Float32, {2}, b}, {"a", DType::Float32, {1}, a}});
  // Hand-written: __metadata__ first, tensors by name, compact JSON, spaces up to a multiple of 8.
  const std::string json =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  std::string header = json;
  header.resize((json.size() + 7) / 8 * 8, ' ');
  std::vector<std::uint8_t> expected = make_image(header);
  expected.insert(expected.end(), a.begin(), a.end());
  expected.insert(expected.end(), b.begin(), b.end());
  CHECK(out == expected);
  CHECK(header.size() % 8 == 0);
  CHECK(header.size() > json.size());  // the case does exercise padding
}

TEST_CASE(
    "the data section is ordered by dtype alignment (Rust enum order, descending) then name") {
  std::vector<std::vector<std::uint8_t>> bufs;
  std::vector<SafetensorsWriteEntry> in;
  const std::pair<const char*, DType> list[] = {
      {"bool", DType::Bool},
      {"u8", DType::UInt8},
      {"i8", DType::Int8},
      {"i16", DType::Int16},
      {"f16", DType::Float16},
      {"bf16", DType::BFloat16},
      {"i32", DType::Int32},
      {"f32", DType::Float32},
      {"f64", DType::Float64},
      {"i64", DType::Int64},
      {"a_f32", DType::Float32}};
  for (const auto& [name, dt] : list) bufs.push_back(iota_bytes(itemsize(dt)));
  for (std::size_t i = 0; i < bufs.size(); ++i)
    in.push_back({list[i].first, list[i].second, {1}, bufs[i]});
  const std::string h = header_of(serialize_safetensors(in, {}));
  // Rust: BOOL < U8 < I8 < I16 < F16 < BF16 < I32 < F32 < F64 < I64; written widest-first.
  const char* expected_order[] = {
      "i64", "f64", "a_f32", "f32", "i32", "bf16", "f16", "i16", "i8", "u8", "bool"};
  std::size_t pos = 0;
  for (const char* name : expected_order) {
    const auto at = h.find(std::string(name).insert(0, 1, '"') + "\":");
    CAPTURE(name);
    REQUIRE(at != std::string::npos);
    CHECK(at >= pos);
    pos = at;
  }
  CHECK(h.rfind("{\"i64\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}", 0) == 0);
  CHECK(
      h.find("\"bool\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[36,37]}}") !=
      std::string::npos);
}

TEST_CASE("empty metadata omits __metadata__; no tensors gives {} padded to 8 bytes") {
  CHECK(header_of(serialize_safetensors({}, {})) == "{}      ");
  CHECK(
      header_of(serialize_safetensors({})) ==
      R"({"__metadata__":{"format":"pt"}})");  // 32 bytes: no padding
  const auto m = serialize_safetensors({}, {{"b", "2"}, {"a", "1"}});
  CHECK(header_of(m).rfind(R"({"__metadata__":{"a":"1","b":"2"}})", 0) == 0);
}

TEST_CASE("names and metadata are escaped as serde_json does and read back unchanged") {
  const std::string name = "q\"b\\n\nc\x01\x1f\t\b\f\r\xc3\xa9/\x7f";
  const auto data = iota_bytes(2);
  const auto out = serialize_safetensors({{name, DType::Int16, {}, data}}, {{"k\n", "v\""}});
  const std::string h = header_of(out);
  CHECK(
      h.find(R"("q\"b\\n\nc\u0001\u001f\t\b\f\r)"
             "\xc3\xa9/\x7f"
             R"(":{"dtype":"I16","shape":[],"data_offsets":[0,2]})") != std::string::npos);
  CHECK(h.find(R"({"__metadata__":{"k\n":"v\""},)") == 0);
  const auto f = SafetensorsFile::from_bytes(out);
  REQUIRE(f.entries().size() == 1);
  CHECK(f.entries()[0].name == name);
  CHECK(f.metadata().at("k\n") == "v\"");
}

TEST_CASE("write then read returns every dtype, shape and byte") {
  std::vector<std::vector<std::uint8_t>> bufs;
  std::vector<SafetensorsWriteEntry> in;
  for (int d = 0; d < kNumDTypes; ++d) {
    const auto dt = static_cast<DType>(d);
    bufs.push_back(iota_bytes(6 * itemsize(dt)));
    in.push_back({std::string("t_") + dtype_name(dt), dt, {2, 3}, {}});
  }
  for (std::size_t i = 0; i < in.size(); ++i) in[i].data = bufs[i];
  in.push_back({"zero", DType::Float32, {0, 5}, {}});
  const auto f = SafetensorsFile::from_bytes(serialize_safetensors(in));
  CHECK(f.entries().size() == in.size());
  for (const auto& t : in) {
    CAPTURE(t.name);
    const auto& e = f.entry(t.name);
    CHECK(e.dtype == t.dtype);
    CHECK(e.shape == t.shape);
    const auto raw = f.raw_bytes(t.name);
    CHECK(std::equal(raw.begin(), raw.end(), t.data.begin(), t.data.end()));
  }
}

TEST_CASE("the writer rejects duplicate or reserved names, negative dims and size mismatches") {
  const auto four = iota_bytes(4);
  require_throws<ValueError>(
      [&] {
        serialize_safetensors({{"a", DType::Float32, {1}, four}, {"a", DType::Float32, {1}, four}});
      },
      {"tensor 'a'", "appears twice"});
  require_throws<ValueError>(
      [&] {
        serialize_safetensors({{"__metadata__", DType::Float32, {1}, four}});
      },
      {"reserved"});
  require_throws<ValueError>(
      [&] {
        serialize_safetensors({{"n", DType::UInt8, {-4}, four}});
      },
      {"tensor 'n'", "negative dimension"});
  require_throws<ValueError>(
      [&] {
        write_safetensors("/nonexistent/x.safetensors", {{"w", DType::Float32, {2}, four}});
      },
      {"/nonexistent/x.safetensors", "tensor 'w'", "data has 4 bytes but F32 [2] needs 8"});
  require_throws<ValueError>(
      [&] {
        serialize_safetensors({{"w\xff", DType::UInt8, {4}, four}});
      },
      {"not valid UTF-8"});
  require_throws<ValueError>(
      [&] {
        serialize_safetensors({}, {{"k", "\xc0"}});
      },
      {"metadata value", "not valid UTF-8"});
  require_throws<ValueError>(
      [&] {
        serialize_safetensors({{"o", DType::Int64, {1ll << 62, 1ll << 62}, four}});
      },
      {"tensor 'o'", "overflows"});
}

TEST_CASE("write_safetensors writes the serialized bytes to disk") {
  TmpDir dir;
  const auto data = to_bytes<std::int64_t>({5, -6});
  const std::vector<SafetensorsWriteEntry> in = {{"ids", DType::Int64, {2}, data}};
  write_safetensors(dir.file("out.safetensors"), in);
  CHECK(read_all(dir.path() / "out.safetensors") == serialize_safetensors(in));
  CHECK(dir.listing() == std::vector<std::string>{"out.safetensors"});
}

TEST_CASE("every golden .safetensors file is reproduced byte for byte by read then write") {
  const fs::path golden = golden_dir();
  if (golden.empty()) {
    MESSAGE("golden directory not found (set PEFTCPP_GOLDEN_DIR); skipping");
    return;
  }
  std::size_t n_files = 0, n_tensors = 0;
  for (const auto& it : fs::recursive_directory_iterator(golden)) {
    if (!it.is_regular_file() || it.path().extension() != ".safetensors")
      continue;
    const std::string path = it.path().string();
    CAPTURE(path);
    const auto f = SafetensorsFile::open(path);
    const auto bytes = serialize_safetensors(write_entries_of(f), f.metadata());
    const auto original = read_all(it.path());
    CHECK(bytes.size() == original.size());
    CHECK_MESSAGE(bytes == original, "differs from the golden file");
    ++n_files;
    n_tensors += f.entries().size();
  }
  MESSAGE("golden round trip: " << n_files << " files, " << n_tensors << " tensors");
  CHECK(n_files > 0);
}
