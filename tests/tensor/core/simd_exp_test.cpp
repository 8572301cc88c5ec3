// The vectorised float32 kernels of every ISA this CPU has (AVX-512, AVX2, portable): exp
// accuracy in ulps, special values, bit-exact arithmetic, softmax rows against a float64
// reference, alignment/tail handling and streaming stores.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "tensor/cpu/simd/simd_kernels.h"
#include "tensor/ops.h"

using namespace peftcpp;
namespace simd = peftcpp::cpu::simd;

namespace {

std::vector<const simd::KernelTable*> tables() {
  std::vector<const simd::KernelTable*> t{&simd::scalar_table()};
  if (simd::avx2_table())
    t.push_back(simd::avx2_table());
  if (simd::avx512_table())
    t.push_back(simd::avx512_table());
  return t;
}

// Distance in representable floats (both finite, or equal).
std::int64_t ulps(float a, float b) {
  if (a == b)
    return 0;
  auto ord = [](float f) {
    std::int32_t i;
    std::memcpy(&i, &f, 4);
    return i < 0 ? -static_cast<std::int64_t>(i & 0x7fffffff) : static_cast<std::int64_t>(i);
  };
  return std::llabs(ord(a) - ord(b));
}

float from_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace

TEST_CASE("the dispatcher picks the widest ISA the CPU supports") {
  const simd::KernelTable& k = simd::kernels();
  if (std::getenv("PEFTCPP_SIMD") == nullptr) {
    if (simd::avx512_table()) {
      CHECK(std::string(k.isa) == "avx512");
    } else if (simd::avx2_table()) {
      CHECK(std::string(k.isa) == "avx2");
    } else {
      CHECK(std::string(k.isa) == "scalar");
    }
  }
  MESSAGE("simd kernels: ", std::string(k.isa));
}

TEST_CASE("exp is within 1 ulp of the correctly rounded result (every 61st float in range)") {
  // Exhaustively over all 2.24e9 floats in (-105, 89) the AVX-512 and AVX2 kernels are also
  // within 1 ulp (checked once; too slow for a unit test).
  std::vector<float> x;
  for (std::uint64_t b = 0; b < (std::uint64_t{1} << 32); b += 61) {
    const float f = from_bits(static_cast<std::uint32_t>(b));
    if (f > -105.0f && f < 89.0f)
      x.push_back(f);
  }
  std::vector<float> y(x.size());
  for (const simd::KernelTable* t : tables()) {
    t->exp(x.data(), y.data(), static_cast<std::int64_t>(x.size()), false);
    std::int64_t worst = 0;
    float worst_x = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const auto ref = static_cast<float>(std::exp(static_cast<double>(x[i])));
      const std::int64_t d = ulps(y[i], ref);
      if (d > worst) {
        worst = d;
        worst_x = x[i];
      }
    }
    CHECK_MESSAGE(worst <= 1, std::string(t->isa), ": ", worst, " ulp at x = ", worst_x);
  }
}

TEST_CASE("exp special values: 0, infinities, NaN, overflow and underflow edges") {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x = {
      0.0f,
      -0.0f,
      inf,
      -inf,
      std::nanf(""),
      88.72f,
      88.73f,
      89.0f,
      1000.0f,
      -87.5f,
      -103.0f,
      -103.9f,
      -104.0f,
      -120.0f,
      1e-30f,
      -1e-30f,
      -1000.0f};
  for (const simd::KernelTable* t : tables()) {
    std::vector<float> y(x.size());
    t->exp(x.data(), y.data(), static_cast<std::int64_t>(x.size()), false);
    CHECK(y[0] == 1.0f);
    CHECK(y[1] == 1.0f);
    CHECK(y[2] == inf);
    CHECK(y[3] == 0.0f);
    CHECK(std::isnan(y[4]));
    CHECK(std::isfinite(y[5]));
    CHECK(y[6] == inf);
    CHECK(y[7] == inf);
    CHECK(y[8] == inf);
    for (std::size_t i : {9u, 10u, 11u}) {  // subnormal results, rounded once
      CHECK_MESSAGE(
          ulps(y[i], static_cast<float>(std::exp(static_cast<double>(x[i])))) <= 1,
          std::string(t->isa),
          " x=",
          x[i]);
    }
    CHECK(y[12] == 0.0f);
    CHECK(y[13] == 0.0f);
    CHECK(y[14] == 1.0f);
    CHECK(y[15] == 1.0f);
    CHECK(y[16] == 0.0f);
  }
}

TEST_CASE("element-wise kernels are bit-identical to scalar float arithmetic at every alignment") {
  Generator g(3);
  const std::vector<float> av = randn({300}, kFloat32, &g).to_vector<float>();
  const std::vector<float> bv = randn({300}, kFloat32, &g).to_vector<float>();
  const float alpha = 0.37f;
  for (const simd::KernelTable* t : tables()) {
    for (int kind = 0; kind < 4; ++kind) {
      for (std::int64_t off : {0, 1, 5, 15}) {
        for (std::int64_t n : {0, 1, 7, 16, 17, 63, 250}) {
          for (bool nt : {false, true}) {
            for (int steps = 0; steps < 3; ++steps) {  // both vectors, scalar a, scalar b
              const std::int64_t as = steps == 1 ? 0 : 1, bs = steps == 2 ? 0 : 1;
              std::vector<float> y(300, -7.0f);
              const auto k = static_cast<simd::BinaryKind>(kind);
              t->binary(k, av.data() + off, as, bv.data(), bs, y.data() + off, n, alpha, nt);
              int wrong = 0;
              for (std::int64_t i = 0; i < 300; ++i) {
                float want = -7.0f;
                if (i >= off && i < off + n) {
                  const float x = av[static_cast<std::size_t>(off + (i - off) * as)];
                  const float z = bv[static_cast<std::size_t>((i - off) * bs)];
                  want = kind == 0   ? x + alpha * z
                         : kind == 1 ? x - alpha * z
                         : kind == 2 ? x * z
                                     : x / z;
                }
                if (std::memcmp(&want, &y[static_cast<std::size_t>(i)], 4) != 0)
                  ++wrong;
              }
              CHECK_MESSAGE(
                  wrong == 0,
                  std::string(t->isa),
                  " kind=",
                  kind,
                  " off=",
                  off,
                  " n=",
                  n,
                  " nt=",
                  nt,
                  " steps=",
                  steps);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("exp kernel writes exactly n outputs at any alignment, streaming or not") {
  std::vector<float> x(200);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) * 0.01f - 1.0f;
  for (const simd::KernelTable* t : tables()) {
    for (std::int64_t off : {0, 3, 16}) {
      for (std::int64_t n : {0, 1, 15, 33, 150}) {
        for (bool nt : {false, true}) {
          std::vector<float> y(200, 5.0f);
          t->exp(x.data() + off, y.data() + off, n, nt);
          int wrong = 0;
          for (std::int64_t i = 0; i < 200; ++i) {
            const bool inside = i >= off && i < off + n;
            const float v = y[static_cast<std::size_t>(i)];
            if (!inside && v != 5.0f)
              ++wrong;
            const double xi = x[static_cast<std::size_t>(i)];
            if (inside && ulps(v, static_cast<float>(std::exp(xi))) > 1)
              ++wrong;
          }
          CHECK_MESSAGE(wrong == 0, std::string(t->isa), " off=", off, " n=", n, " nt=", nt);
        }
      }
    }
  }
}

namespace {
std::vector<double> softmax_ref(const std::vector<float>& x, bool log) {
  double m = -INFINITY;
  for (float v : x) m = std::max(m, static_cast<double>(v));
  if (std::isinf(m) && m < 0)
    m = 0;
  double s = 0;
  for (float v : x) s += std::exp(v - m);
  std::vector<double> y;
  for (float v : x) y.push_back(log ? (v - m) - std::log(s) : std::exp(v - m) / s);
  return y;
}
}  // namespace

TEST_CASE("softmax rows: short and long (online) rows, scratch and streaming, against float64") {
  Generator g(17);
  for (const simd::KernelTable* t : tables()) {
    for (std::int64_t n : {1, 2, 15, 16, 17, 100, 4096, 65536, 65537, 200001}) {
      std::vector<float> x = mul(randn({n}, kFloat32, &g), 5.0).to_vector<float>();
      for (bool log : {false, true}) {
        const std::vector<double> ref = softmax_ref(x, log);
        for (int mode = 0; mode < 3; ++mode) {  // plain, scratch + streaming, in place
          std::vector<float> y(static_cast<std::size_t>(n) + 1, 9.0f),
              scratch(static_cast<std::size_t>(n));
          if (mode == 2) {
            std::vector<float> xy = x;
            t->softmax_row(xy.data(), xy.data(), n, log, false, nullptr, nullptr);
            std::copy(xy.begin(), xy.end(), y.begin());
          } else {
            t->softmax_row(
                x.data(),
                y.data(),
                n,
                log,
                mode == 1,
                mode == 1 ? scratch.data() : nullptr,
                mode == 1 ? x.data() : nullptr);
          }
          double worst = 0;  // error beyond the relative allowance
          for (std::int64_t i = 0; i < n; ++i) {
            const double r = ref[static_cast<std::size_t>(i)];
            worst = std::max(
                worst, std::fabs(y[static_cast<std::size_t>(i)] - r) - 2e-5 * std::fabs(r));
          }
          CHECK_MESSAGE(
              worst < 1e-6,
              std::string(t->isa),
              " n=",
              n,
              " log=",
              log,
              " mode=",
              mode,
              " excess error ",
              worst);
          CHECK(y[static_cast<std::size_t>(n)] == 9.0f);  // nothing written past the row
        }
      }
    }
  }
}

TEST_CASE("row max / sum of exponentials and exp(x - shift) * scale (cross-entropy's kernels) against float64") {
  Generator g(23);
  for (const simd::KernelTable* t : tables()) {
    for (std::int64_t n : {1, 15, 17, 2048, 2049, 32000}) {
      INFO(t->isa << " n=" << n);
      std::vector<float> x = mul(randn({n}, kFloat32, &g), 5.0).to_vector<float>();
      double mx = -1e300;
      for (float v : x) mx = std::max(mx, static_cast<double>(v));
      double sum = 0;
      for (float v : x) sum += std::exp(static_cast<double>(v) - mx);
      float m = 0, s = 0;
      t->row_max_sum_exp(x.data(), n, &m, &s);
      CHECK(m == static_cast<float>(mx));
      CHECK(std::fabs(s - sum) <= 1e-5 * sum);
      const float lse = static_cast<float>(mx + std::log(sum)), scale = 0.25f;
      std::vector<float> y(static_cast<std::size_t>(n) + 1, 9.0f);
      t->exp_shift_scale(x.data(), y.data(), n, lse, scale);
      double worst = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        const double r = std::exp(static_cast<double>(x[static_cast<std::size_t>(i)]) - lse) * scale;
        worst = std::max(worst, std::fabs(y[static_cast<std::size_t>(i)] - r) - 2e-6 * r);
      }
      CHECK(worst < 1e-12);
      CHECK(y[static_cast<std::size_t>(n)] == 9.0f);  // nothing written past the row
    }
    // an all -inf row: max 0 (not -inf), sum 0
    const std::vector<float> ninf(40, -std::numeric_limits<float>::infinity());
    float m = 1, s = 1;
    t->row_max_sum_exp(ninf.data(), 40, &m, &s);
    CHECK(m == 0.0f);
    CHECK(s == 0.0f);
  }
}

TEST_CASE("softmax rows with -inf, +inf and NaN entries, short and long") {
  const float inf = std::numeric_limits<float>::infinity();
  for (const simd::KernelTable* t : tables()) {
    for (std::int64_t n : {5, 70000}) {
      std::vector<float> all_neg_inf(static_cast<std::size_t>(n), -inf);
      std::vector<float> y(static_cast<std::size_t>(n));
      for (bool log : {false, true}) {
        t->softmax_row(all_neg_inf.data(), y.data(), n, log, false, nullptr, nullptr);
        CHECK_MESSAGE(std::isnan(y[0]), std::string(t->isa), " all -inf n=", n);
        // one finite value among -inf: probability 1 there, 0 elsewhere
        std::vector<float> one = all_neg_inf;
        one[static_cast<std::size_t>(n - 2)] = 3.0f;
        t->softmax_row(one.data(), y.data(), n, log, false, nullptr, nullptr);
        CHECK(y[static_cast<std::size_t>(n - 2)] == (log ? 0.0f : 1.0f));
        CHECK(y[0] == (log ? -inf : 0.0f));
        // a NaN early in the row (before any finite value) poisons the whole row
        std::vector<float> nan_row = one;
        nan_row[1] = std::nanf("");
        t->softmax_row(nan_row.data(), y.data(), n, log, false, nullptr, nullptr);
        CHECK_MESSAGE(
            std::isnan(y[static_cast<std::size_t>(n - 2)]),
            std::string(t->isa),
            " NaN n=",
            n,
            " log=",
            log);
        // +inf makes the row NaN, as PyTorch (inf - inf)
        std::vector<float> pinf(static_cast<std::size_t>(n), 0.0f);
        pinf[2] = inf;
        t->softmax_row(pinf.data(), y.data(), n, log, false, nullptr, nullptr);
        CHECK(std::isnan(y[2]));
      }
    }
  }
}

TEST_CASE("large float32 ops (streaming stores) match the small-tensor path") {
  // 5M floats = 20 MB outputs: above the streaming threshold
  Generator g(5);
  Tensor a = randn({5, 1 << 20}, kFloat32, &g), b = randn({5, 1 << 20}, kFloat32, &g);
  Tensor s = add(a, b, 0.5), p = mul(a, b), e = exp(a), sm = softmax(a, -1),
         ls = log_softmax(a, -1);
  for (std::int64_t r : {0, 4}) {
    Tensor ar = a.select(0, r).narrow(0, 1000, 3000).clone(),
           br = b.select(0, r).narrow(0, 1000, 3000).clone();
    CHECK(max_abs_diff(s.select(0, r).narrow(0, 1000, 3000), add(ar, br, 0.5)) == 0.0);
    CHECK(max_abs_diff(p.select(0, r).narrow(0, 1000, 3000), mul(ar, br)) == 0.0);
    CHECK(max_abs_diff(e.select(0, r).narrow(0, 1000, 3000), exp(ar)) == 0.0);
  }
  CHECK(max_abs_diff(sum(sm, {1}), ones({5})) < 1e-4);
  CHECK(max_abs_diff(exp(ls), sm) < 1e-6);
  // a transposed (strided) exp gives the same bits as the contiguous one
  Tensor m = a.narrow(1, 0, 3000).reshape({3000, 5});
  CHECK(max_abs_diff(exp(m.t()).t(), exp(m)) == 0.0);
}
