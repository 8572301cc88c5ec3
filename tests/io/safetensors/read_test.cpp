// Reading valid safetensors files: every dtype, fp8 widening, metadata, views, describe().
#include <cmath>
#include <limits>

#include "io/safetensors/describe.h"
#include "io/safetensors/safetensors.h"
#include "st_test_util.h"

using namespace peftcpp;
using namespace peftcpp::st_test;

namespace {

std::vector<float> converted_floats(const SafetensorsFile& f, const std::string& name) {
  DType dt = DType::Int8;
  const auto bytes = f.read_converted(name, dt);
  REQUIRE(dt == DType::Float32);
  return from_bytes_as<float>(bytes.data(), bytes.size());
}

std::vector<std::uint8_t> all_bytes() {
  std::vector<std::uint8_t> b(256);
  for (int i = 0; i < 256; ++i) b[i] = static_cast<std::uint8_t>(i);
  return b;
}

}  // namespace

TEST_CASE("every native dtype reads back with its DType, shape, offsets and bytes") {
  const std::vector<HandTensor> tensors = {
      {"f64", "F64", "[2]", to_bytes<double>({1.5, -2.25})},
      {"f32", "F32", "[1,3]", to_bytes<float>({0.5f, -3.0f, 1e30f})},
      {"f16", "F16", "[3]", to_bytes<std::uint16_t>({0x3c00, 0xc000, 0x7c00})},
      {"bf16", "BF16", "[2]", to_bytes<std::uint16_t>({0x3f80, 0xc0a0})},
      {"i64", "I64", "[2]", to_bytes<std::int64_t>({-1, std::int64_t{1} << 40})},
      {"i32", "I32", "[2,1]", to_bytes<std::int32_t>({-7, 123456})},
      {"i16", "I16", "[2]", to_bytes<std::int16_t>({-300, 300})},
      {"i8", "I8", "[2]", to_bytes<std::int8_t>({-128, 127})},
      {"u8", "U8", "[2]", to_bytes<std::uint8_t>({0, 255})},
      {"bool", "BOOL", "[3]", to_bytes<std::uint8_t>({1, 0, 1})},
      {"scalar", "F32", "[]", to_bytes<float>({42.0f})},
      {"empty", "F32", "[0,4]", {}},
  };
  const DType expected[] = {
      DType::Float64,
      DType::Float32,
      DType::Float16,
      DType::BFloat16,
      DType::Int64,
      DType::Int32,
      DType::Int16,
      DType::Int8,
      DType::UInt8,
      DType::Bool,
      DType::Float32,
      DType::Float32};
  const auto f = SafetensorsFile::from_bytes(build_file(tensors));
  REQUIRE(f.entries().size() == tensors.size());
  std::uint64_t offset = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& e = f.entries()[i];
    CAPTURE(e.name);
    CHECK(e.name == tensors[i].name);
    CHECK(e.st_dtype == tensors[i].dtype);
    CHECK(e.dtype == expected[i]);
    CHECK(e.is_native());
    CHECK(e.begin == offset);
    CHECK(e.end == offset + tensors[i].bytes.size());
    offset = e.end;
    const auto raw = f.raw_bytes(e.name);
    CHECK(std::vector<std::uint8_t>(raw.begin(), raw.end()) == tensors[i].bytes);
    DType out = DType::Bool;
    CHECK(f.read_converted(e.name, out) == tensors[i].bytes);
    CHECK(out == expected[i]);
  }
  CHECK(f.entry("f32").shape == std::vector<std::int64_t>{1, 3});
  CHECK(f.entry("scalar").shape.empty());
  CHECK(f.entry("scalar").numel() == 1);
  CHECK(f.entry("empty").numel() == 0);
  CHECK(f.entry("i32").numel() == 2);
  const auto f16 = from_bytes_as<std::uint16_t>(f.raw_bytes("f16").data(), 6);
  CHECK(half_to_float(f16[0]) == 1.0f);
  CHECK(half_to_float(f16[1]) == -2.0f);
  CHECK(std::isinf(half_to_float(f16[2])));
  const auto bf16 = from_bytes_as<std::uint16_t>(f.raw_bytes("bf16").data(), 4);
  CHECK(bf16_to_float(bf16[1]) == -5.0f);
  CHECK(from_bytes_as<double>(f.raw_bytes("f64").data(), 16)[1] == -2.25);
  CHECK(f.data_size() == offset);
}

TEST_CASE("F8_E4M3 widens to float32 exactly, including subnormals, max and NaN") {
  const auto f = SafetensorsFile::from_bytes(build_file(
      {{"e4m3",
        "F8_E4M3",
        "[13]",
        {0x00, 0x80, 0x38, 0x7e, 0xfe, 0x01, 0x07, 0x08, 0x7f, 0xff, 0x40, 0x3c, 0x31}}}));
  CHECK(f.entry("e4m3").dtype == DType::Float32);
  CHECK_FALSE(f.entry("e4m3").is_native());
  const auto v = converted_floats(f, "e4m3");
  REQUIRE(v.size() == 13);
  CHECK(v[0] == 0.0f);
  CHECK(std::signbit(v[1]));
  CHECK(v[1] == 0.0f);
  CHECK(v[2] == 1.0f);
  CHECK(v[3] == 448.0f);  // S.1111.110: largest finite
  CHECK(v[4] == -448.0f);
  CHECK(v[5] == std::ldexp(1.0f, -9));  // smallest subnormal: 1/8 * 2^-6
  CHECK(v[6] == 7 * std::ldexp(1.0f, -9));
  CHECK(v[7] == std::ldexp(1.0f, -6));  // smallest normal
  CHECK(std::isnan(v[8]));
  CHECK(std::isnan(v[9]));
  CHECK(v[10] == 2.0f);
  CHECK(v[11] == 1.5f);
  CHECK(v[12] == 0.5625f);  // 0.0110.001 = 2^-1 * 1.125
}

TEST_CASE("F8_E5M2 widens exactly like the top byte of an IEEE half, for all 256 codes") {
  const auto f =
      SafetensorsFile::from_bytes(build_file({{"e5m2", "F8_E5M2", "[256]", all_bytes()}}));
  const auto v = converted_floats(f, "e5m2");
  REQUIRE(v.size() == 256);
  for (int b = 0; b < 256; ++b) {
    CAPTURE(b);
    const float ref = half_to_float(static_cast<std::uint16_t>(b << 8));
    if (std::isnan(ref)) {
      CHECK(std::isnan(v[b]));
    } else {
      CHECK(v[b] == ref);
      CHECK(std::signbit(v[b]) == std::signbit(ref));
    }
  }
  CHECK(v[0x3c] == 1.0f);
  CHECK(v[0x7b] == 57344.0f);
  CHECK(v[0x7c] == std::numeric_limits<float>::infinity());
  CHECK(v[0xfc] == -std::numeric_limits<float>::infinity());
  CHECK(v[0x01] == std::ldexp(1.0f, -16));
}

TEST_CASE("F8_E8M0 and the FNUZ fp8 variants widen to their hand-computed values") {
  const auto f = SafetensorsFile::from_bytes(build_file({
      {"e8m0", "F8_E8M0", "[5]", {0x7f, 0x80, 0x00, 0xfe, 0xff}},
      {"e4fnuz", "F8_E4M3FNUZ", "[5]", {0x40, 0x80, 0x7f, 0x01, 0xc0}},
      {"e5fnuz", "F8_E5M2FNUZ", "[4]", {0x40, 0x7f, 0x80, 0x01}},
  }));
  const auto e8 = converted_floats(f, "e8m0");
  CHECK(e8[0] == 1.0f);
  CHECK(e8[1] == 2.0f);
  CHECK(e8[2] == std::ldexp(1.0f, -127));
  CHECK(e8[3] == std::ldexp(1.0f, 127));
  CHECK(std::isnan(e8[4]));
  const auto e4 = converted_floats(f, "e4fnuz");
  CHECK(e4[0] == 1.0f);  // bias 8
  CHECK(std::isnan(e4[1]));
  CHECK(e4[2] == 240.0f);  // no NaN at S.1111.111: it is the largest finite
  CHECK(e4[3] == std::ldexp(1.0f, -10));
  CHECK(e4[4] == -1.0f);
  const auto e5 = converted_floats(f, "e5fnuz");
  CHECK(e5[0] == 1.0f);      // bias 16
  CHECK(e5[1] == 57344.0f);  // exponent 31 is finite in FNUZ
  CHECK(std::isnan(e5[2]));
  CHECK(e5[3] == std::ldexp(1.0f, -17));
}

TEST_CASE("U16 and U32 are widened losslessly to Int32 and Int64") {
  const auto f = SafetensorsFile::from_bytes(build_file({
      {"u16", "U16", "[3]", to_bytes<std::uint16_t>({0, 65535, 1234})},
      {"u32", "U32", "[2]", to_bytes<std::uint32_t>({4294967295u, 7})},
  }));
  DType dt = DType::Bool;
  auto b = f.read_converted("u16", dt);
  CHECK(dt == DType::Int32);
  CHECK(
      from_bytes_as<std::int32_t>(b.data(), b.size()) == std::vector<std::int32_t>{0, 65535, 1234});
  b = f.read_converted("u32", dt);
  CHECK(dt == DType::Int64);
  CHECK(
      from_bytes_as<std::int64_t>(b.data(), b.size()) ==
      std::vector<std::int64_t>{4294967295ll, 7});
  CHECK(f.raw_bytes("u32").size() == 8);  // raw view keeps the stored width
}

TEST_CASE("U64, C64, sub-byte and unknown dtypes are rejected on open, naming the tensor") {
  require_throws(
      [] {
        SafetensorsFile::from_bytes(build_file({{"big", "U64", "[1]", iota_bytes(8)}}), "u64.st");
      },
      {"u64.st", "tensor 'big'", "unsupported dtype U64"});
  require_throws(
      [] {
        SafetensorsFile::from_bytes(build_file({{"z", "C64", "[1]", iota_bytes(8)}}), "c.st");
      },
      {"c.st", "tensor 'z'", "unsupported dtype C64"});
  require_throws(
      [] {
        SafetensorsFile::from_bytes(build_file({{"q", "F4", "[2]", iota_bytes(1)}}), "f4.st");
      },
      {"tensor 'q'", "unsupported dtype F4"});
  require_throws(
      [] {
        SafetensorsFile::from_bytes(build_file({{"x", "F128", "[1]", iota_bytes(16)}}), "u.st");
      },
      {"u.st", "tensor 'x'", "unknown dtype 'F128'", "supported: BOOL"});
}

TEST_CASE("__metadata__ is read as a string map; absent or null gives an empty map") {
  auto f = SafetensorsFile::from_bytes(
      build_file({{"a", "U8", "[1]", {7}}}, R"({"format":"pt","note":"x\"y\u00e9"})"));
  CHECK(
      f.metadata() ==
      std::map<std::string, std::string>{{"format", "pt"}, {"note", "x\"y\xc3\xa9"}});
  f = SafetensorsFile::from_bytes(build_file({{"a", "U8", "[1]", {7}}}));
  CHECK(f.metadata().empty());
  f = SafetensorsFile::from_bytes(build_file({{"a", "U8", "[1]", {7}}}, "null"));
  CHECK(f.metadata().empty());
  CHECK(f.entries().size() == 1);
}

TEST_CASE("entries keep header order even when data offsets are in another order") {
  const auto img = make_image(
      R"({"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},)"
      R"("a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})",
      {10, 11, 20, 21});
  const auto f = SafetensorsFile::from_bytes(img);
  REQUIRE(f.entries().size() == 2);
  CHECK(f.entries()[0].name == "b");
  CHECK(f.entries()[1].name == "a");
  CHECK(f.raw_bytes("b")[0] == 20);
  CHECK(f.raw_bytes("a")[1] == 11);
}

TEST_CASE("a header padded with JSON whitespace is accepted and an empty file body is fine") {
  const auto f = SafetensorsFile::from_bytes(make_image("{} \t\r\n  "));
  CHECK(f.entries().empty());
  CHECK(f.data_size() == 0);
  CHECK(f.header_size() == 8);
}

TEST_CASE("raw_bytes is a view into the mapping that keepalive() keeps valid") {
  TmpDir dir;
  const auto img = build_file({{"w", "F32", "[2]", to_bytes<float>({1.25f, -8.0f})}});
  write_all(dir.path() / "m.safetensors", img);
  std::span<const std::uint8_t> view;
  std::shared_ptr<const void> keep;
  {
    const auto f = SafetensorsFile::open(dir.file("m.safetensors"));
    CHECK(f.path() == dir.file("m.safetensors"));
    view = f.raw_bytes("w");
    keep = f.keepalive();
    const auto f2 = SafetensorsFile::open(dir.file("m.safetensors"));
    CHECK(f2.raw_bytes("w").data() != view.data());  // separate mappings
  }
  // The file object is gone; the mapping lives on through `keep` (ASan would flag a use after
  // unmap).
  CHECK(from_bytes_as<float>(view.data(), view.size()) == std::vector<float>{1.25f, -8.0f});
  keep.reset();
}

TEST_CASE("looking up a missing tensor throws IoError naming the file and the tensor") {
  const auto f = SafetensorsFile::from_bytes(build_file({{"a", "U8", "[1]", {7}}}), "model.st");
  CHECK_FALSE(f.contains("b"));
  CHECK(f.contains("a"));
  require_throws([&] { f.entry("b"); }, {"model.st", "no tensor 'b'"});
  require_throws([&] { f.raw_bytes("b"); }, {"model.st", "'b'"});
  DType dt;
  require_throws([&] { f.read_converted("b", dt); }, {"model.st", "'b'"});
}

TEST_CASE("describe_safetensors lists every tensor, totals and metadata") {
  const auto f = SafetensorsFile::from_bytes(
      build_file(
          {{"lin.weight", "F32", "[2,3]", iota_bytes(24)}, {"q", "F8_E4M3", "[4]", iota_bytes(4)}},
          R"({"format":"pt"})"),
      "adapter.safetensors");
  const std::string text = describe_safetensors(f);
  CHECK(text.find("adapter.safetensors: 2 tensors, 10 elements") != std::string::npos);
  CHECK(text.find("28 bytes") != std::string::npos);
  CHECK(text.find("lin.weight") != std::string::npos);
  CHECK(text.find("[2, 3]") != std::string::npos);
  CHECK(text.find("F8_E4M3 (read as float32)") != std::string::npos);
  CHECK(text.find("'format': 'pt'") != std::string::npos);
  CHECK(text.back() == '\n');
}
