// sgemm (run-time dispatched kernel) against a naive double-accumulating reference: transpose
// combinations, odd sizes across every blocking boundary, padded leading dimensions, alpha/beta,
// empty products and argument errors.
#include "tensor/cpu/gemm/gemm.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "tensor/error.h"
#include "tests/tensor/cpu/gemm_reference.h"

namespace peftcpp::cpu {
namespace {

using testing::GemmCase;
using testing::GemmOperands;
using testing::run_sgemm_case;

constexpr bool kTrans[] = {false, true};

TEST_CASE("sgemm matches the reference for all transpose combinations on odd sizes") {
  const int64_t sizes[] = {1, 7, 17, 33, 65, 129};
  uint32_t seed = 1;
  for (bool ta : kTrans) {
    for (bool tb : kTrans) {
      for (int64_t m : sizes) {
        for (int64_t n : sizes) {
          for (int64_t k : sizes) {
            GemmCase g;
            g.trans_a = ta;
            g.trans_b = tb;
            g.m = m;
            g.n = n;
            g.k = k;
            CAPTURE(ta);
            CAPTURE(tb);
            CAPTURE(m);
            CAPTURE(n);
            CAPTURE(k);
            CHECK(run_sgemm_case(g, seed++) == 0);
          }
        }
      }
    }
  }
}

TEST_CASE("sgemm matches the reference on 1000+ odd sizes crossing every cache block") {
  // Each shape crosses the row block (mc), the k chunks (kc) or the column panel (nc).
  const int64_t shapes[][3] = {
      {1031, 67, 1003},
      {45, 1027, 515},
      {1029, 1011, 37},
      {203, 2061, 517},
      {3, 4099, 19},
      {1001, 5, 777}};
  uint32_t seed = 100;
  for (bool ta : kTrans) {
    for (bool tb : kTrans) {
      for (const auto& s : shapes) {
        GemmCase g;
        g.trans_a = ta;
        g.trans_b = tb;
        g.m = s[0];
        g.n = s[1];
        g.k = s[2];
        CAPTURE(ta);
        CAPTURE(tb);
        CAPTURE(g.m);
        CAPTURE(g.n);
        CAPTURE(g.k);
        CHECK(run_sgemm_case(g, seed++) == 0);
      }
    }
  }
}

TEST_CASE("sgemm reads and writes only inside padded leading dimensions") {
  // Padding holds NaN in A/B (a stray read poisons C) and a sentinel in C (must stay).
  uint32_t seed = 200;
  for (bool ta : kTrans) {
    for (bool tb : kTrans) {
      for (int64_t pad : {1, 3, 16, 37}) {
        GemmCase g;
        g.trans_a = ta;
        g.trans_b = tb;
        g.m = 45;
        g.n = 70;
        g.k = 300;
        g.pad_a = pad;
        g.pad_b = pad + 2;
        g.pad_c = pad + 5;
        g.beta = 0.5;
        CAPTURE(ta);
        CAPTURE(tb);
        CAPTURE(pad);
        CHECK(run_sgemm_case(g, seed++) == 0);
      }
    }
  }
}

TEST_CASE("skinny products read in-place operands only inside their rows") {
  // A 16-24 row output reads a non-transposed B in place, a 16-64 column output a transposed A;
  // ragged edges are masked loads. Leading dimensions of a page or more, NaN in the padding.
  struct Skinny {
    bool ta, tb;
    int64_t m, n, k, pad_a, pad_b;
  };
  const Skinny cases[] = {
      {true, false, 16, 300, 700, 5, 2048 - 300},
      {false, false, 20, 513, 333, 1, 1},
      {true, false, 700, 16, 900, 2048 - 700, 3},
      {true, true, 1001, 33, 64, 7, 9},
      {true, false, 24, 47, 1025, 1024 - 24, 4096 - 47},
      {false, false, 13, 1, 2, 0, 0}};
  uint32_t seed = 250;
  for (const Skinny& s : cases) {
    GemmCase g;
    g.trans_a = s.ta;
    g.trans_b = s.tb;
    g.m = s.m;
    g.n = s.n;
    g.k = s.k;
    g.pad_a = s.pad_a;
    g.pad_b = s.pad_b;
    g.beta = seed % 2 == 0 ? 0.0 : 1.0;
    CAPTURE(g.m);
    CAPTURE(g.n);
    CAPTURE(g.k);
    CHECK(run_sgemm_case(g, seed++) == 0);
  }
}

TEST_CASE("sgemm applies alpha and beta, and beta zero ignores NaN in C") {
  uint32_t seed = 300;
  for (double alpha : {1.0, -0.5, 2.0}) {
    for (double beta : {0.0, 1.0, 0.75, -2.0}) {
      for (bool ta : kTrans) {
        GemmCase g;
        g.trans_a = ta;
        g.trans_b = !ta;
        g.m = 37;
        g.n = 53;
        g.k = 1100;  // several k chunks: beta applies once, later chunks accumulate
        g.alpha = alpha;
        g.beta = beta;
        CAPTURE(alpha);
        CAPTURE(beta);
        CAPTURE(ta);
        CHECK(run_sgemm_case(g, seed++) == 0);  // beta == 0 starts C as all NaN
      }
    }
  }
}

TEST_CASE("sgemm with k zero or alpha zero scales C by beta without reading A or B") {
  const float nan = std::nanf("");
  std::vector<float> a(12, nan), b(12, nan);
  std::vector<float> c = {1, 2, 3, 4, 5, 6};
  sgemm(false, false, 2, 3, 0, 1.0f, a.data(), 1, b.data(), 3, 0.5f, c.data(), 3);
  CHECK(c == std::vector<float>{0.5f, 1, 1.5f, 2, 2.5f, 3});
  sgemm(false, true, 2, 3, 4, 0.0f, a.data(), 4, b.data(), 4, -1.0f, c.data(), 3);
  CHECK(c == std::vector<float>{-0.5f, -1, -1.5f, -2, -2.5f, -3});
  std::vector<float> garbage(6, nan);
  sgemm(true, false, 2, 3, 0, 1.0f, nullptr, 2, nullptr, 3, 0.0f, garbage.data(), 3);
  CHECK(garbage == std::vector<float>(6, 0.0f));
}

TEST_CASE("sgemm with m or n zero touches nothing") {
  std::vector<float> a(64, 1.0f), b(64, 1.0f), c(64, 7.0f);
  sgemm(false, false, 0, 8, 8, 1.0f, a.data(), 8, b.data(), 8, 0.0f, c.data(), 8);
  sgemm(false, false, 8, 0, 8, 1.0f, a.data(), 8, b.data(), 1, 0.0f, c.data(), 1);
  sgemm(true, true, 0, 0, 5, 1.0f, nullptr, 1, nullptr, 5, 0.0f, nullptr, 1);
  CHECK(c == std::vector<float>(64, 7.0f));
}

TEST_CASE("sgemm rejects negative sizes, short leading dimensions and null operands") {
  std::vector<float> a(64), b(64), c(64);
  CHECK_THROWS_AS(
      sgemm(false, false, -1, 2, 2, 1.0f, a.data(), 2, b.data(), 2, 0.0f, c.data(), 2), ValueError);
  CHECK_THROWS_AS(
      sgemm(false, false, 2, 2, 4, 1.0f, a.data(), 3, b.data(), 2, 0.0f, c.data(), 2), ValueError);
  CHECK_THROWS_AS(
      sgemm(true, false, 5, 2, 4, 1.0f, a.data(), 4, b.data(), 2, 0.0f, c.data(), 2), ValueError);
  CHECK_THROWS_AS(
      sgemm(false, true, 2, 3, 4, 1.0f, a.data(), 4, b.data(), 3, 0.0f, c.data(), 3), ValueError);
  CHECK_THROWS_AS(
      sgemm(false, false, 2, 3, 4, 1.0f, a.data(), 4, b.data(), 3, 0.0f, c.data(), 2), ValueError);
  CHECK_THROWS_AS(
      sgemm(false, false, 2, 2, 2, 1.0f, nullptr, 2, b.data(), 2, 0.0f, c.data(), 2), ValueError);
  CHECK_THROWS_AS(
      sgemm(false, false, 2, 2, 2, 1.0f, a.data(), 2, b.data(), 2, 0.0f, nullptr, 2), ValueError);
  try {
    sgemm(false, false, 2, 2, 4, 1.0f, a.data(), 3, b.data(), 2, 0.0f, c.data(), 2);
    FAIL("short lda was accepted");
  } catch (const ValueError& e) {
    CHECK(std::string(e.what()).rfind("[sgemm] lda=3", 0) == 0);
  }
}

TEST_CASE("sgemm on hand-computed values") {
  // [[1,2],[3,4]] @ [[5,6],[7,8]] = [[19,22],[43,50]]; with A^T: [[26,30],[38,44]].
  const float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8};
  float c[4];
  sgemm(false, false, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
  CHECK(std::vector<float>(c, c + 4) == std::vector<float>{19, 22, 43, 50});
  sgemm(true, false, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
  CHECK(std::vector<float>(c, c + 4) == std::vector<float>{26, 30, 38, 44});
  sgemm(false, true, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);  // [[17,23],[39,53]]
  CHECK(std::vector<float>(c, c + 4) == std::vector<float>{17, 23, 39, 53});
}

TEST_CASE("sgemm_kernel_name names the best kernel this CPU supports") {
  const std::string name = sgemm_kernel_name();
  if (sgemm_kernel_supported(SgemmKernelKind::Avx512)) {
    CHECK(name == "avx512");
  } else if (sgemm_kernel_supported(SgemmKernelKind::Avx2)) {
    CHECK(name == "avx2");
  } else {
    CHECK(name == "generic");
  }
}

}  // namespace
}  // namespace peftcpp::cpu
