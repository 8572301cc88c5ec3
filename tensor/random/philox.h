// Philox-4x32-10 and the uniform/normal transforms shared by every backend (host/device inline).
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define PEFTCPP_HD __host__ __device__
#else
#define PEFTCPP_HD
#endif

namespace peftcpp {

struct Philox4 {
  std::uint32_t v[4];
};

PEFTCPP_HD inline Philox4 philox4x32_10(std::uint64_t key64, std::uint64_t counter64) {
  std::uint32_t c0 = static_cast<std::uint32_t>(counter64), c1 = static_cast<std::uint32_t>(counter64 >> 32);
  std::uint32_t c2 = 0, c3 = 0;
  std::uint32_t k0 = static_cast<std::uint32_t>(key64), k1 = static_cast<std::uint32_t>(key64 >> 32);
  for (int r = 0; r < 10; ++r) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(0xD2511F53u) * c0;
    const std::uint64_t p1 = static_cast<std::uint64_t>(0xCD9E8D57u) * c2;
    const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const std::uint32_t n1 = static_cast<std::uint32_t>(p1);
    const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3 ^ k1;
    const std::uint32_t n3 = static_cast<std::uint32_t>(p0);
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

/// Uniform in [0, 1) with `digits` random bits (<= 53): a multiple of 2^-digits, so it is exact
/// in any float type with that many significand digits and never rounds up to 1 (float32: 24,
/// float16: 11, bfloat16: 8), as PyTorch draws per-dtype.
PEFTCPP_HD inline double philox_uniform_digits(std::uint64_t seed, std::uint64_t counter, int digits) {
  const Philox4 r = philox4x32_10(seed, counter);
  const std::uint64_t bits = (static_cast<std::uint64_t>(r.v[0]) << 21) ^ static_cast<std::uint64_t>(r.v[1] >> 11);
  const std::uint64_t k = (bits & ((std::uint64_t{1} << 53) - 1)) >> (53 - digits);
  return static_cast<double>(k) / static_cast<double>(std::uint64_t{1} << digits);
}

/// Standard normal (Box-Muller on two 32-bit uniforms of the same counter).
PEFTCPP_HD inline double philox_normal(std::uint64_t seed, std::uint64_t counter) {
  const Philox4 r = philox4x32_10(seed, counter);
  const double u1 = (static_cast<double>(r.v[2]) + 1.0) * (1.0 / 4294967297.0);  // (0, 1]
  const double u2 = static_cast<double>(r.v[3]) * (1.0 / 4294967296.0);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace peftcpp
