// Test helpers for tensor/cpu/gemm: random padded operands, a naive double-accumulating
// reference, and an error bound relative to k * eps.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include "tensor/cpu/gemm/gemm.h"

namespace peftcpp::cpu::testing {

/// One GEMM problem: sizes, transposes, scalars and how far each leading dimension exceeds the
/// stored row length.
struct GemmCase {
  bool trans_a = false, trans_b = false;
  int64_t m = 1, n = 1, k = 1;
  double alpha = 1.0, beta = 0.0;
  int64_t pad_a = 0, pad_b = 0, pad_c = 0;

  int64_t lda() const {
    return (trans_a ? m : k) + pad_a;
  }
  int64_t ldb() const {
    return (trans_b ? k : n) + pad_b;
  }
  int64_t ldc() const {
    return n + pad_c;
  }
  int64_t a_rows() const {
    return trans_a ? k : m;
  }
  int64_t b_rows() const {
    return trans_b ? n : k;
  }
};

/// Operands of a GemmCase. Padding columns of A, B and C hold NaN (A/B: a read past a row would
/// poison results) or a sentinel (C: must be left untouched). With beta == 0, C starts as NaN.
template <typename T>
struct GemmOperands {
  std::vector<T> a, b, c;
  static constexpr T kSentinel = T(12345.0);

  GemmOperands(const GemmCase& g, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> dist(-1.0, 1.0);
    const T nan = std::numeric_limits<T>::quiet_NaN();
    auto fill =
        [&](std::vector<T>& v, int64_t rows, int64_t cols, int64_t ld, T pad, bool nan_body) {
          v.assign(static_cast<size_t>(std::max<int64_t>(rows * ld, 1)), pad);
          for (int64_t i = 0; i < rows; ++i) {
            for (int64_t j = 0; j < cols; ++j) {
              v[static_cast<size_t>(i * ld + j)] = nan_body ? nan : static_cast<T>(dist(rng));
            }
          }
        };
    fill(a, g.a_rows(), g.trans_a ? g.m : g.k, g.lda(), nan, false);
    fill(b, g.b_rows(), g.trans_b ? g.k : g.n, g.ldb(), nan, false);
    fill(c, g.m, g.n, g.ldc(), kSentinel, g.beta == 0.0);
  }

  T a_at(const GemmCase& g, int64_t i, int64_t p) const {
    return g.trans_a ? a[static_cast<size_t>(p * g.lda() + i)]
                     : a[static_cast<size_t>(i * g.lda() + p)];
  }
  T b_at(const GemmCase& g, int64_t p, int64_t j) const {
    return g.trans_b ? b[static_cast<size_t>(j * g.ldb() + p)]
                     : b[static_cast<size_t>(p * g.ldb() + j)];
  }
};

/// Checks `result` (C after the GEMM) against alpha * op(A) op(B) + beta * C0 summed in double
/// (long double for float64), with |error| <= (k + 3) * eps * (|alpha| sum|a||b| + |beta c0|),
/// and that the padding of C still holds the sentinel. Returns the number of bad elements.
template <typename T>
int64_t check_against_reference(
    const GemmCase& g, const GemmOperands<T>& in, const std::vector<T>& result) {
  using Acc = std::conditional_t<std::is_same_v<T, float>, double, long double>;
  const double eps = std::numeric_limits<T>::epsilon();
  // Dense copies of op(A) as [m][k] and op(B)^T as [n][k], so each dot product is contiguous.
  std::vector<Acc> opa(static_cast<size_t>(g.m * g.k)), opbt(static_cast<size_t>(g.n * g.k));
  for (int64_t i = 0; i < g.m; ++i) {
    for (int64_t p = 0; p < g.k; ++p) opa[static_cast<size_t>(i * g.k + p)] = in.a_at(g, i, p);
  }
  for (int64_t j = 0; j < g.n; ++j) {
    for (int64_t p = 0; p < g.k; ++p) opbt[static_cast<size_t>(j * g.k + p)] = in.b_at(g, p, j);
  }
  int64_t bad = 0;
  for (int64_t i = 0; i < g.m; ++i) {
    for (int64_t j = 0; j < g.ldc(); ++j) {
      const T got = result[static_cast<size_t>(i * g.ldc() + j)];
      if (j >= g.n) {
        bad += got == GemmOperands<T>::kSentinel ? 0 : 1;
        continue;
      }
      const Acc* ai = opa.data() + i * g.k;
      const Acc* bj = opbt.data() + j * g.k;
      Acc sum = 0, mag = 0;
      for (int64_t p = 0; p < g.k; ++p) {
        const Acc prod = ai[p] * bj[p];  // exact: a product of two floats fits in a double
        sum += prod;
        mag += std::fabs(prod);
      }
      const Acc c0 =
          g.beta == 0.0 ? 0 : static_cast<Acc>(in.c[static_cast<size_t>(i * g.ldc() + j)]);
      const Acc want = static_cast<Acc>(g.alpha) * sum + static_cast<Acc>(g.beta) * c0;
      const double bound = (static_cast<double>(g.k) + 3.0) * eps *
                               (std::fabs(g.alpha) * static_cast<double>(mag) +
                                std::fabs(g.beta * static_cast<double>(c0))) +
                           std::numeric_limits<T>::min();
      const double err = std::fabs(static_cast<double>(static_cast<Acc>(got) - want));
      if (!(err <= bound)) {
        if (bad < 3) {
          MESSAGE(
              "C[", i, ",", j, "] = ", got, " want ", static_cast<double>(want), " bound ", bound);
        }
        ++bad;
      }
    }
  }
  return bad;
}

/// Runs sgemm (or sgemm_with_kernel when `kind` is given) on a fresh GemmOperands and returns the
/// number of elements off the reference.
inline int64_t run_sgemm_case(
    const GemmCase& g, uint32_t seed, const SgemmKernelKind* kind = nullptr) {
  GemmOperands<float> in(g, seed);
  std::vector<float> c = in.c;
  const auto alpha = static_cast<float>(g.alpha), beta = static_cast<float>(g.beta);
  if (kind != nullptr) {
    sgemm_with_kernel(
        *kind,
        g.trans_a,
        g.trans_b,
        g.m,
        g.n,
        g.k,
        alpha,
        in.a.data(),
        g.lda(),
        in.b.data(),
        g.ldb(),
        beta,
        c.data(),
        g.ldc());
  } else {
    sgemm(
        g.trans_a,
        g.trans_b,
        g.m,
        g.n,
        g.k,
        alpha,
        in.a.data(),
        g.lda(),
        in.b.data(),
        g.ldb(),
        beta,
        c.data(),
        g.ldc());
  }
  return check_against_reference(g, in, c);
}

/// Restores the GEMM thread count when a test that changes it ends.
class GemmThreadsGuard {
 public:
  GemmThreadsGuard() : saved_(gemm_num_threads()) {}
  ~GemmThreadsGuard() {
    set_gemm_num_threads(saved_);
  }
  GemmThreadsGuard(const GemmThreadsGuard&) = delete;
  GemmThreadsGuard& operator=(const GemmThreadsGuard&) = delete;

 private:
  int saved_;
};

}  // namespace peftcpp::cpu::testing
