// Runtime choice of the kernel table, and the portable (scalar) table used when the CPU has
// neither AVX-512 nor AVX2 + FMA. Compiled without -m flags.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "tensor/cpu/simd/simd_kernels.h"

namespace peftcpp::cpu::simd {
namespace {

void exp_scalar(const float* x, float* y, std::int64_t n, bool) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}

void binary_scalar(
    BinaryKind kind,
    const float* a,
    std::int64_t as,
    const float* b,
    std::int64_t bs,
    float* y,
    std::int64_t n,
    float alpha,
    bool) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float x = a[i * as], z = b[i * bs];
    switch (kind) {
      case BinaryKind::Add:
        y[i] = x + alpha * z;
        break;
      case BinaryKind::Sub:
        y[i] = x - alpha * z;
        break;
      case BinaryKind::Mul:
        y[i] = x * z;
        break;
      case BinaryKind::Div:
        y[i] = x / z;
        break;
    }
  }
}

void row_max_sum_exp_scalar(const float* x, std::int64_t n, float* max, float* sum) {
  float m = -std::numeric_limits<float>::infinity();
  for (std::int64_t i = 0; i < n; ++i) m = std::max(m, x[i]);
  if (std::isinf(m) && m < 0)
    m = 0.0f;  // all -inf: exps are 0, the sum 0 (a softmax row of NaN, as PyTorch)
  double s = 0.0;
  for (std::int64_t i = 0; i < n; ++i) s += std::exp(x[i] - m);
  *max = m;
  *sum = static_cast<float>(s);
}

void softmax_row_scalar(
    const float* x, float* y, std::int64_t n, bool log, bool, float*, const float*) {
  if (n <= 0)
    return;
  float m = 0.0f, s = 0.0f;
  row_max_sum_exp_scalar(x, n, &m, &s);
  if (log) {
    const float lse = std::log(s);
    for (std::int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) - lse;
  } else {
    const float inv = 1.0f / s;
    for (std::int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i] - m) * inv;
  }
}

void exp_shift_scale_scalar(const float* x, float* y, std::int64_t n, float shift, float scale) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i] - shift) * scale;
}

const KernelTable kScalarTable = {"scalar",           exp_scalar,         binary_scalar, softmax_row_scalar,
                                  row_max_sum_exp_scalar, exp_shift_scale_scalar};

const KernelTable& choose() {
  const char* force = std::getenv("PEFTCPP_SIMD");
  const bool allow_avx512 = force == nullptr || std::strcmp(force, "avx512") == 0;
  const bool allow_avx2 = allow_avx512 || std::strcmp(force, "avx2") == 0;
  if (allow_avx512 && avx512_table())
    return *avx512_table();
  if (allow_avx2 && avx2_table())
    return *avx2_table();
  return kScalarTable;
}

}  // namespace

const KernelTable* avx512_table() {
#if defined(__x86_64__)  // same condition as the ISA libraries in meson.build
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
  return ok ? &detail::avx512_kernel_table : nullptr;
#else
  return nullptr;
#endif
}

const KernelTable* avx2_table() {
#if defined(__x86_64__)  // same condition as the ISA libraries in meson.build
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok ? &detail::avx2_kernel_table : nullptr;
#else
  return nullptr;
#endif
}

const KernelTable& scalar_table() {
  return kScalarTable;
}

const KernelTable& kernels() {
  static const KernelTable& table = choose();
  return table;
}

}  // namespace peftcpp::cpu::simd
