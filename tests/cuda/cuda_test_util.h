// Helpers of the CUDA tests: skipping without a GPU, seeded inputs of every dtype, views that are
// not contiguous, and comparison of a device result with the CPU backend's.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "cuda/cuda.h"
#include "tensor/backend/backend.h"
#include "tensor/ops.h"

namespace peftcpp::cuda_test {

/// PEFTCPP_CUDA_TESTS_ON_CPU=1 turns the CUDA tests into a dry run of their own logic on
/// machines without a GPU: dev() is then the CPU, every comparison is CPU against CPU, and only
/// shapes, API use and the comparison code are exercised. It proves nothing about the device.
inline bool dry_run_on_cpu() {
  static const bool on = [] {
    const char* v = std::getenv("PEFTCPP_CUDA_TESTS_ON_CPU");
    return v != nullptr && std::string(v) == "1";
  }();
  return on;
}

/// The device under test: cuda:0 (the CPU in a dry run).
inline Device dev() {
  return dry_run_on_cpu() ? kCPU : kCUDA;
}

/// Returns from the test case, naming why, when no GPU can be used (and this is no dry run).
#define PEFTCPP_SKIP_WITHOUT_CUDA()                                                   \
  do {                                                                                \
    if (!::peftcpp::cuda_test::dry_run_on_cpu() && !::peftcpp::cuda::is_available()) { \
      MESSAGE("CUDA test skipped: " << ::peftcpp::cuda::unavailable_reason());        \
      return;                                                                         \
    }                                                                                 \
  } while (0)

/// Returns from a test case that only means something on a real GPU (in a dry run).
#define PEFTCPP_SKIP_IN_DRY_RUN()                                                     \
  do {                                                                                \
    if (::peftcpp::cuda_test::dry_run_on_cpu()) {                                     \
      MESSAGE("skipped in the CPU dry run: checks CUDA-only behaviour");              \
      return;                                                                         \
    }                                                                                 \
  } while (0)

inline const std::vector<DType>& float_dtypes() {
  static const std::vector<DType> d{kFloat32, kFloat64, kBFloat16, kFloat16};
  return d;
}
inline const std::vector<DType>& all_dtypes() {
  static const std::vector<DType> d{kFloat32, kFloat64, kBFloat16, kFloat16, kInt8, kUInt8, kInt16, kInt32, kInt64, kBool};
  return d;
}

/// Seeded CPU values of `dtype`: normal * scale for floats, integers in about [-3 scale, 3 scale]
/// (uint8: non-negative), booleans about half true.
inline Tensor random_cpu(const Shape& shape, DType dtype, std::uint64_t seed, double scale = 1.0) {
  Generator g(seed);
  Tensor x = randn(shape, kFloat64, &g);
  if (is_floating_point(dtype)) return mul(x, scale).to(dtype);
  if (dtype == kBool) return gt(x, 0.0);
  Tensor v = floor(mul(x, 10.0 * scale));
  if (dtype == kUInt8) v = abs(v);
  if (dtype == kInt8) v = clamp(v, -100.0, 100.0);
  return v.to(dtype);
}

/// Relative tolerance for results rounded to `dtype` (one or two units in the last place).
inline double rtol_for(DType dtype) {
  switch (dtype) {
    case DType::Float64: return 1e-12;
    case DType::Float32: return 2e-6;
    case DType::Float16: return 2e-3;
    case DType::BFloat16: return 1.6e-2;
    default: return 0.0;
  }
}

/// Checks that the device tensor equals the CPU one within atol + rtol |expected| (NaN matches
/// NaN, infinities match by sign); reports the first mismatch with its flat index.
inline void check_close(const Tensor& expected_cpu, const Tensor& actual_cuda, double rtol, double atol,
                        const std::string& what) {
  INFO(what);
  REQUIRE(actual_cuda.device() == dev());
  REQUIRE(expected_cpu.shape() == actual_cuda.shape());
  CHECK(expected_cpu.dtype() == actual_cuda.dtype());
  const std::vector<double> e = expected_cpu.contiguous().to(kFloat64).to_vector<double>();
  const std::vector<double> a = actual_cuda.to(kCPU).contiguous().to(kFloat64).to_vector<double>();
  REQUIRE(e.size() == a.size());
  for (std::size_t i = 0; i < e.size(); ++i) {
    const bool ok = (std::isnan(e[i]) && std::isnan(a[i])) || e[i] == a[i] ||
                    std::abs(e[i] - a[i]) <= atol + rtol * std::abs(e[i]);
    if (!ok) {
      FAIL_CHECK("first mismatch at flat index " << i << ": CPU " << e[i] << ", CUDA " << a[i] << " (dtype "
                                                 << dtype_name(actual_cuda.dtype()) << ")");
      return;
    }
  }
}

inline void check_close(const Tensor& expected_cpu, const Tensor& actual_cuda, const std::string& what) {
  const double rtol = rtol_for(expected_cpu.dtype());
  check_close(expected_cpu, actual_cuda, rtol, rtol, what);
}

/// The same values as a strided view: stored transposed, viewed back in `x`'s shape.
inline Tensor non_contiguous(const Tensor& x) {
  if (x.dim() < 2) return x.unsqueeze(1).expand({x.size(0), 2}).contiguous().select(1, 0);  // stride 2
  return x.transpose(0, x.dim() - 1).contiguous().transpose(0, x.dim() - 1);
}

}  // namespace peftcpp::cuda_test
