// DType metadata, promotion, and the float32 <-> bfloat16/float16 conversions (round to nearest
// even, checked exhaustively at every tie), plus tensor dtype round trips.
#include <doctest/doctest.h>

#include <cstring>
#include <limits>

#include "tensor/ops.h"
#include "test_helpers.h"

using namespace peftcpp;
using peftcpp::testing::values;

namespace {
float bits_to_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
std::uint32_t float_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
}  // namespace

TEST_CASE("itemsize and names of every dtype") {
  const DType all[] = {
      kFloat32, kFloat64, kFloat16, kBFloat16, kInt8, kUInt8, kInt16, kInt32, kInt64, kBool};
  const std::size_t sizes[] = {4, 8, 2, 2, 1, 1, 2, 4, 8, 1};
  const char* names[] = {
      "float32",
      "float64",
      "float16",
      "bfloat16",
      "int8",
      "uint8",
      "int16",
      "int32",
      "int64",
      "bool"};
  for (int i = 0; i < kNumDTypes; ++i) {
    CHECK(itemsize(all[i]) == sizes[i]);
    CHECK(std::string(dtype_name(all[i])) == names[i]);
    CHECK(dtype_from_name(names[i]) == all[i]);
  }
  CHECK(dtype_from_name("float") == kFloat32);
  CHECK(dtype_from_name("double") == kFloat64);
  CHECK(dtype_from_name("half") == kFloat16);
  CHECK(dtype_from_name("long") == kInt64);
  CHECK(dtype_from_name("int") == kInt32);
  CHECK_THROWS_WITH_PARTS(DTypeError, dtype_from_name("float8"), "[dtype]", "float8");
}

TEST_CASE("floating and integral categories") {
  CHECK(is_floating_point(kBFloat16));
  CHECK(is_floating_point(kFloat16));
  CHECK_FALSE(is_floating_point(kInt64));
  CHECK(is_integral(kBool));
  CHECK(is_integral(kUInt8));
  CHECK_FALSE(is_integral(kFloat64));
}

TEST_CASE("promote_types follows PyTorch's table") {
  CHECK(promote_types(kFloat32, kFloat64) == kFloat64);
  CHECK(promote_types(kFloat16, kBFloat16) == kFloat32);
  CHECK(promote_types(kBFloat16, kFloat16) == kFloat32);
  CHECK(promote_types(kFloat16, kFloat32) == kFloat32);
  CHECK(promote_types(kBFloat16, kBFloat16) == kBFloat16);
  CHECK(promote_types(kInt8, kUInt8) == kInt16);
  CHECK(promote_types(kUInt8, kInt16) == kInt16);
  CHECK(promote_types(kUInt8, kInt32) == kInt32);
  CHECK(promote_types(kInt32, kInt64) == kInt64);
  CHECK(promote_types(kBool, kInt8) == kInt8);
  CHECK(promote_types(kBool, kBool) == kBool);
  CHECK(promote_types(kBool, kFloat16) == kFloat16);
  CHECK(promote_types(kInt64, kFloat16) == kFloat16);
  CHECK(promote_types(kInt64, kBFloat16) == kBFloat16);
  CHECK(promote_types(kUInt8, kFloat64) == kFloat64);
}

TEST_CASE("bfloat16 rounding: exact values, ties to even, specials") {
  CHECK(float_to_bf16(1.0f) == 0x3f80);
  CHECK(float_to_bf16(-2.0f) == 0xc000);
  CHECK(float_to_bf16(bits_to_float(0x3f808000u)) == 0x3f80);  // tie, 0x3f80 even
  CHECK(float_to_bf16(bits_to_float(0x3f818000u)) == 0x3f82);  // tie, 0x3f82 even
  CHECK(float_to_bf16(bits_to_float(0x3f808001u)) == 0x3f81);  // just above the tie
  CHECK(float_to_bf16(bits_to_float(0x3f807fffu)) == 0x3f80);  // just below the tie
  CHECK(float_to_bf16(std::numeric_limits<float>::infinity()) == 0x7f80);
  CHECK(float_to_bf16(-std::numeric_limits<float>::infinity()) == 0xff80);
  CHECK(float_to_bf16(std::numeric_limits<float>::max()) == 0x7f80);  // rounds up to inf
  CHECK(float_to_bf16(-0.0f) == 0x8000);
  // NaNs stay NaN (quiet), including signalling ones whose payload sits in the dropped bits
  for (std::uint32_t nan : {0x7fc00000u, 0x7f800001u, 0xff800001u, 0x7fffffffu}) {
    const std::uint16_t b = float_to_bf16(bits_to_float(nan));
    CHECK((b & 0x7f80) == 0x7f80);
    CHECK((b & 0x007f) != 0);
    CHECK((b & 0x8000) == ((nan >> 16) & 0x8000));
  }
  // subnormals: 0x00008000 is a tie between 0 and the smallest subnormal
  CHECK(float_to_bf16(bits_to_float(0x00010000u)) == 0x0001);
  CHECK(float_to_bf16(bits_to_float(0x00008000u)) == 0x0000);
  CHECK(float_to_bf16(bits_to_float(0x00018000u)) == 0x0002);
}

TEST_CASE("bfloat16: every finite value round-trips and every midpoint rounds to even") {
  int failures = 0;
  for (std::uint32_t h = 0; h < 0x10000u; ++h) {
    const auto b = static_cast<std::uint16_t>(h);
    const float f = bf16_to_float(b);
    if (std::isnan(f))
      continue;
    if (float_to_bf16(f) != b)
      ++failures;
    // midpoint between b and the next value away from zero (same sign), when both are finite
    const auto next = static_cast<std::uint16_t>(b + 1);
    if ((b & 0x7fff) >= 0x7f7f)
      continue;
    const float mid = bits_to_float(static_cast<std::uint32_t>(
        (std::uint64_t{float_bits(f)} + float_bits(bf16_to_float(next))) / 2));
    const std::uint16_t even = (b & 1) ? next : b;
    if (float_to_bf16(mid) != even)
      ++failures;
    if (float_to_bf16(std::nextafter(mid, 0.0f)) != b)
      ++failures;
    if (float_to_bf16(std::nextafter(mid, std::signbit(f) ? -INFINITY : INFINITY)) != next)
      ++failures;
  }
  CHECK(failures == 0);
}

TEST_CASE("float16 rounding: range limits, subnormals, ties to even, specials") {
  CHECK(float_to_half(1.0f) == 0x3c00);
  CHECK(float_to_half(-2.0f) == 0xc000);
  CHECK(float_to_half(65504.0f) == 0x7bff);
  CHECK(float_to_half(65519.0f) == 0x7bff);
  CHECK(float_to_half(65520.0f) == 0x7c00);  // tie between max and 2^16: rounds to even = inf
  CHECK(float_to_half(1e10f) == 0x7c00);
  CHECK(float_to_half(-1e10f) == 0xfc00);
  CHECK(float_to_half(std::ldexp(1.0f, -14)) == 0x0400);  // smallest normal
  CHECK(float_to_half(std::ldexp(1.0f, -24)) == 0x0001);  // smallest subnormal
  CHECK(float_to_half(std::ldexp(1.0f, -25)) == 0x0000);  // tie -> 0 (even)
  CHECK(float_to_half(std::ldexp(3.0f, -26)) == 0x0001);  // 0.75 ulp -> 1
  CHECK(float_to_half(std::ldexp(3.0f, -25)) == 0x0002);  // 1.5 ulp tie -> 2 (even)
  CHECK(float_to_half(std::ldexp(1.0f, -30)) == 0x0000);
  CHECK(float_to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);  // tie -> even
  CHECK(float_to_half(1.0f + std::ldexp(3.0f, -11)) == 0x3c02);  // tie -> even
  CHECK(float_to_half(2.0f - std::ldexp(1.0f, -12)) == 0x4000);  // carries into the exponent
  CHECK(float_to_half(-0.0f) == 0x8000);
  CHECK(float_to_half(INFINITY) == 0x7c00);
  CHECK(float_to_half(-INFINITY) == 0xfc00);
  const std::uint16_t nan = float_to_half(std::numeric_limits<float>::quiet_NaN());
  CHECK((nan & 0x7c00) == 0x7c00);
  CHECK((nan & 0x03ff) != 0);
  CHECK(half_to_float(0x0001) == std::ldexp(1.0f, -24));
  CHECK(half_to_float(0x03ff) == std::ldexp(1023.0f, -24));
  CHECK(half_to_float(0x8001) == -std::ldexp(1.0f, -24));
  CHECK(std::isinf(half_to_float(0x7c00)));
  CHECK(std::isnan(half_to_float(0x7e00)));
}

TEST_CASE("float16: every finite value round-trips and every midpoint rounds to even") {
  int failures = 0;
  for (std::uint32_t h = 0; h < 0x10000u; ++h) {
    const auto b = static_cast<std::uint16_t>(h);
    const float f = half_to_float(b);
    if (std::isnan(f))
      continue;
    if (float_to_half(f) != b)
      ++failures;
    if ((b & 0x7fff) >= 0x7bff)
      continue;
    const auto next = static_cast<std::uint16_t>(b + 1);
    const float mid =
        static_cast<float>((static_cast<double>(f) + half_to_float(next)) / 2);  // exact
    const std::uint16_t even = (b & 1) ? next : b;
    if (float_to_half(mid) != even)
      ++failures;
    if (float_to_half(std::nextafter(mid, 0.0f)) != b)
      ++failures;
    if (float_to_half(std::nextafter(mid, std::signbit(f) ? -INFINITY : INFINITY)) != next)
      ++failures;
  }
  CHECK(failures == 0);
}

TEST_CASE("tensor to bfloat16 and float16 rounds each element to nearest even") {
  Tensor x = tensor<float>(
      {1.0f, bits_to_float(0x3f808000u), bits_to_float(0x3f818000u), 65520.0f, -0.0f});
  Tensor b = x.to(kBFloat16);
  CHECK(b.dtype() == kBFloat16);
  const BFloat16* bp = b.data_ptr<BFloat16>();
  CHECK(bp[0].bits == 0x3f80);
  CHECK(bp[1].bits == 0x3f80);
  CHECK(bp[2].bits == 0x3f82);
  CHECK(bp[4].bits == 0x8000);
  Tensor h = x.to(kFloat16);
  const Half* hp = h.data_ptr<Half>();
  CHECK(hp[0].bits == 0x3c00);
  CHECK(hp[3].bits == 0x7c00);
  // back to float32 is exact
  CHECK(values(b.to(kFloat32)) == std::vector<double>{1.0, 1.0, 1.0 + 2.0 / 128, 65536.0, 0.0});
}

TEST_CASE("float to integer conversion truncates toward zero; integers narrow by wrapping") {
  Tensor x = tensor<float>({2.7f, -2.7f, 0.5f, -0.5f, 100.0f});
  CHECK(x.to(kInt32).to_vector<std::int32_t>() == std::vector<std::int32_t>{2, -2, 0, 0, 100});
  CHECK(x.to(kInt64).to_vector<std::int64_t>() == std::vector<std::int64_t>{2, -2, 0, 0, 100});
  Tensor big = tensor<std::int64_t>({300, -129, 255, 9007199254740993LL});
  CHECK(big.to(kInt8).to_vector<std::int8_t>() == std::vector<std::int8_t>{44, 127, -1, 1});
  CHECK(big.to(kUInt8).to_vector<std::uint8_t>() == std::vector<std::uint8_t>{44, 127, 255, 1});
  // int64 -> float64 keeps integers up to 2^53 exactly; 2^53 + 1 rounds to even
  CHECK(big.to(kFloat64).to_vector<double>()[3] == 9007199254740992.0);
  CHECK(
      tensor<std::int32_t>({-7, 16777217}).to(kFloat32).to_vector<float>() ==
      std::vector<float>{-7.0f, 16777216.0f});
}

TEST_CASE("bool conversions: nonzero (and NaN) is true; true is 1") {
  Tensor x = tensor<float>({0.0f, -0.0f, 0.5f, -3.0f, NAN});
  CHECK(x.to(kBool).to_vector<bool>() == std::vector<bool>{false, false, true, true, true});
  Tensor b = tensor<bool>({true, false, true});
  CHECK(values(b.to(kFloat32)) == std::vector<double>{1, 0, 1});
  CHECK(values(b.to(kInt64)) == std::vector<double>{1, 0, 1});
  CHECK(values(b.to(kBFloat16)) == std::vector<double>{1, 0, 1});
  CHECK(
      tensor<std::int32_t>({0, 2, -1}).to(kBool).to_vector<bool>() ==
      std::vector<bool>{false, true, true});
}

TEST_CASE("float64 to float32 rounds to nearest; specials survive every float round trip") {
  const double third = 1.0 / 3.0;
  Tensor d = tensor<double>({third, 1e300, -1e-300, INFINITY, -INFINITY, NAN});
  const std::vector<float> f = d.to(kFloat32).to_vector<float>();
  CHECK(f[0] == static_cast<float>(third));
  CHECK(std::isinf(f[1]));
  CHECK(f[2] == 0.0f);
  CHECK(std::signbit(f[2]));
  for (DType dt : {kFloat16, kBFloat16, kFloat32}) {
    const std::vector<double> v = values(d.slice(0, 3, 6).to(dt).to(kFloat64));
    CHECK(v[0] == INFINITY);
    CHECK(v[1] == -INFINITY);
    CHECK(std::isnan(v[2]));
  }
}

TEST_CASE(
    "to() with the same dtype returns the same tensor; to() of a strided view is contiguous") {
  Tensor x = tensor<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(x.to(kFloat32).is_same(x));
  Tensor y = x.t().to(kFloat64);
  CHECK(y.is_contiguous());
  CHECK(values(y) == std::vector<double>{1, 4, 2, 5, 3, 6});
  Tensor z = x.slice(1, 0, 3, 2).to(kInt16);
  CHECK(values(z) == std::vector<double>{1, 3, 4, 6});
}

TEST_CASE("data_ptr checks the dtype; item checks the element count") {
  Tensor x = tensor<float>({1, 2});
  CHECK_THROWS_WITH_PARTS(DTypeError, x.data_ptr<double>(), "[data_ptr]", "float32", "float64");
  CHECK_THROWS_WITH_PARTS(ValueError, x.item<float>(), "[item]", "[2]");
  CHECK(tensor<std::int64_t>({7}, {1}).item<double>() == 7.0);
}
