// OFT's core maths against hand-computed values: the skew-symmetric layout, the exact and the
// Neumann Cayley transforms of 2x2 blocks, block diagonals, COFT's projection, the r / block
// size adjustment and PEFT's conv unfold / fold layout (checked against a loop reference).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "peft/tuners/oft/layer.h"
#include "peft/tuners/oft/orthogonal.h"
#include "peft/tuners/oft/rotation.h"
#include "tests/peft/oft/oft_test_util.h"

using namespace peftcpp;
using oft::OFTRotationModule;

namespace {

double at(const Tensor& t, std::initializer_list<std::int64_t> idx) {
  Tensor v = t;
  for (std::int64_t i : idx) v = v.select(0, i);
  return v.item<double>();
}

}  // namespace

TEST_CASE("oft skew_symmetric fills the upper triangle row by row and negates it below") {
  OFTRotationModule m(1, 6, 4, 4);
  const Tensor vec = tensor<double>({1, 2, 3, 4, 5, 6}, {1, 6});
  const Tensor s = m.skew_symmetric(vec);
  // triu_indices(4, 4, 1): (0,1) (0,2) (0,3) (1,2) (1,3) (2,3)
  const double want[4][4] = {{0, 1, 2, 3}, {-1, 0, 4, 5}, {-2, -4, 0, 6}, {-3, -5, -6, 0}};
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) CHECK(at(s, {0, i, j}) == want[i][j]);
  }
  CHECK(test::max_diff(m.skew_symmetric_inv(s), vec) == 0.0);
}

TEST_CASE("oft Cayley transforms of a 2x2 block match the closed forms") {
  // Q = [[0, a], [-a, 0]]: Q^2 = -a^2 I, Q^3 = -a^2 Q, Q^4 = a^4 I
  const double a = 0.3;
  const Tensor q = tensor<double>({a}, {1, 1});
  OFTRotationModule exact(1, 1, 2, 2, false, 6e-5, false, {0, 0}, false);
  // (I - Q)(I + Q)^-1 = ((1 - a^2) I - 2Q) / (1 + a^2)
  const Tensor re = exact.cayley_batch(q);
  CHECK(at(re, {0, 0, 0}) == doctest::Approx((1 - a * a) / (1 + a * a)).epsilon(1e-12));
  CHECK(at(re, {0, 0, 1}) == doctest::Approx(-2 * a / (1 + a * a)).epsilon(1e-12));
  CHECK(at(re, {0, 1, 0}) == doctest::Approx(2 * a / (1 + a * a)).epsilon(1e-12));
  CHECK(test::max_diff(matmul(re, re.mT()), eye(2, 2, kFloat64).unsqueeze(0)) < 1e-12);
  // 5 terms: I + 2Q + 2Q^2 + 2Q^3 + Q^4 = (1 - 2a^2 + a^4) I + (2 - 2a^2) Q
  OFTRotationModule n5(1, 1, 2, 2, false, 6e-5, false, {0, 0}, true, 5);
  const Tensor r5 = n5.cayley_batch(q);
  CHECK(at(r5, {0, 0, 0}) == doctest::Approx(1 - 2 * a * a + a * a * a * a).epsilon(1e-12));
  CHECK(at(r5, {0, 0, 1}) == doctest::Approx((2 - 2 * a * a) * a).epsilon(1e-12));
  // 3 and 4 terms (PEFT's loop gives the same sum): I + 2Q + 2Q^2 + Q^3
  for (int terms : {3, 4}) {
    OFTRotationModule m(1, 1, 2, 2, false, 6e-5, false, {0, 0}, true, terms);
    const Tensor r = m.cayley_batch(q);
    CHECK(at(r, {0, 0, 0}) == doctest::Approx(1 - 2 * a * a).epsilon(1e-12));
    CHECK(at(r, {0, 0, 1}) == doctest::Approx(2 * a - a * a * a).epsilon(1e-12));
  }
  // 2 terms: I + 2Q; 1 term: I
  OFTRotationModule n2(1, 1, 2, 2, false, 6e-5, false, {0, 0}, true, 2);
  CHECK(at(n2.cayley_batch(q), {0, 1, 0}) == doctest::Approx(-2 * a).epsilon(1e-12));
  OFTRotationModule n1(1, 1, 2, 2, false, 6e-5, false, {0, 0}, true, 1);
  CHECK(test::max_diff(n1.cayley_batch(q), eye(2, 2, kFloat64).unsqueeze(0)) == 0.0);
}

TEST_CASE("oft block_diagonal places each block on the diagonal and zeros elsewhere") {
  const Tensor blocks = tensor<double>({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2});
  const Tensor d = oft::block_diagonal(blocks);
  const std::vector<double> want = {1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 5, 6, 0, 0, 7, 8};
  CHECK(d.to_vector<double>() == want);
}

TEST_CASE("oft get_weight is blockdiag of the Cayley blocks; block_share repeats one block") {
  OFTRotationModule m(2, 1, 2, 4, false, 6e-5, false, {0, 0}, false);
  m.to(kFloat64);
  nn::set_data(m.weight, tensor<double>({0.3, -0.5}, {2, 1}));
  const Tensor w = m.get_weight();
  const Tensor blocks = m.cayley_batch(m.weight);
  CHECK(test::max_diff(w.slice(0, 0, 2).slice(1, 0, 2), blocks.select(0, 0)) == 0.0);
  CHECK(test::max_diff(w.slice(0, 2, 4).slice(1, 2, 4), blocks.select(0, 1)) == 0.0);
  CHECK(test::max_diff(w.slice(0, 0, 2).slice(1, 2, 4), zeros({2, 2}, kFloat64)) == 0.0);
  OFTRotationModule shared(1, 1, 2, 6, false, 6e-5, true, {0, 0}, false);
  shared.to(kFloat64);
  nn::set_data(shared.weight, tensor<double>({0.3}, {1, 1}));
  const Tensor ws = shared.get_weight();
  REQUIRE(ws.shape() == Shape{6, 6});
  CHECK(test::max_diff(ws.slice(0, 4, 6).slice(1, 4, 6), ws.slice(0, 0, 2).slice(1, 0, 2)) == 0.0);
  // forward with block_share rotates every pair of features by the same block
  const Tensor x = tensor<double>({1, 2, 3, 4, 5, 6}, {1, 6});
  CHECK(test::max_diff(shared.forward(x), matmul(x, ws)) < 1e-14);
}

TEST_CASE("coft scales blocks outside the eps / sqrt(r) ball onto it and keeps the others") {
  OFTRotationModule m(2, 1, 2, 4, true, 0.2, false, {0, 0}, true);
  m.to(kFloat64);
  // |Q|_F = sqrt(2) |a|; radius = 0.2 / sqrt(2) = 0.1414...
  const Tensor q = tensor<double>({0.05, 0.3}, {2, 1});
  const Tensor p = m.project_batch(q, 0.2);
  CHECK(at(p, {0, 0}) == doctest::Approx(0.05).epsilon(1e-12));  // sqrt(2) * 0.05 < radius
  // scaled to norm radius: sqrt(2) |a'| = 0.2 / sqrt(2)  =>  a' = 0.1
  CHECK(at(p, {1, 0}) == doctest::Approx(0.1).epsilon(1e-12));
  // forward projects the parameter in place
  nn::set_data(m.weight, q.clone());
  (void)m.forward(ones({1, 4}, kFloat64));
  CHECK(at(m.weight, {1, 0}) == doctest::Approx(0.1).epsilon(1e-12));
}

TEST_CASE("oft r / oft_block_size not dividing in_features move to the nearest divisor") {
  using L = oft::OFTLayer;
  CHECK(L::adjust_oft_parameters(16, 5) == 4);    // 4 (1 away) vs 8 (3 away)
  CHECK(L::adjust_oft_parameters(12, 5) == 4);    // 4 vs 6, equally far: the smaller
  CHECK(L::adjust_oft_parameters(32, 6) == 4);    // 4 vs 8
  CHECK(L::adjust_oft_parameters(36, 7) == 6);    // 6 (1 away) vs 9 (2 away)
  CHECK(L::adjust_oft_parameters(16, 20) == 16);  // too large: in_features
  CHECK(L::adjust_oft_parameters(7, 3) == 1);     // prime: 1 vs 7
}

TEST_CASE("oft conv patches are rotated, laid out and folded as PEFT does") {
  // reference: explicit loops over PEFT's unfold, the rotation, the [B, C, Ho, Wo, kh, kw]
  // memory read as F.fold's [B, C*kh*kw, Ho*Wo] input, and fold's overlap-add
  const std::int64_t B = 2, C = 2, H = 4, W = 5, k = 2;
  const std::int64_t ho = H - k + 1, wo = W - k + 1, F = C * k * k;
  manual_seed(3);
  const Tensor x = randn({B, C, H, W}, kFloat64);
  OFTRotationModule m(2, 6, 4, F, false, 6e-5, false, {k, k}, true);
  m.to(kFloat64);
  normal_(m.weight, 0.0, 0.2);
  const std::vector<double> rot = m.get_weight().to_vector<double>();  // [F, F]
  const std::vector<double> xv = x.to_vector<double>();
  std::vector<double> out(static_cast<std::size_t>(B * C * H * W), 0.0);
  for (std::int64_t b = 0; b < B; ++b) {
    std::vector<double> mem(static_cast<std::size_t>(C * ho * wo * k * k));
    for (std::int64_t oh = 0; oh < ho; ++oh) {
      for (std::int64_t ow = 0; ow < wo; ++ow) {
        std::vector<double> patch(static_cast<std::size_t>(F));
        for (std::int64_t c = 0; c < C; ++c)
          for (std::int64_t i = 0; i < k; ++i)
            for (std::int64_t j = 0; j < k; ++j)
              patch[(c * k + i) * k + j] = xv[((b * C + c) * H + oh + i) * W + ow + j];
        for (std::int64_t f = 0; f < F; ++f) {
          double v = 0;
          for (std::int64_t g = 0; g < F; ++g) v += patch[g] * rot[g * F + f];
          const std::int64_t c = f / (k * k), i = (f / k) % k, j = f % k;
          mem[(((c * ho + oh) * wo + ow) * k + i) * k + j] = v;
        }
      }
    }
    for (std::int64_t flat = 0; flat < static_cast<std::int64_t>(mem.size()); ++flat) {
      const std::int64_t cp = flat / (ho * wo), l = flat % (ho * wo);
      const std::int64_t c = cp / (k * k), i = (cp / k) % k, j = cp % k;
      out[((b * C + c) * H + l / wo + i) * W + l % wo + j] += mem[flat];
    }
  }
  const Tensor got = m.forward(x);
  REQUIRE(got.shape() == x.shape());
  CHECK(test::max_diff(got, tensor<double>(out, {B, C, H, W})) < 1e-12);
}
