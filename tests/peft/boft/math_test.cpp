// BOFT's core maths against hand-computed values: butterfly permutations, permutation
// matrices, the Cayley transform of 2x2 blocks, the butterfly product of two factors rebuilt
// with explicit permutation matrices (PEFT's P B P^T form), and the multiplicative dropout.
#include <doctest/doctest.h>

#include <vector>

#include "autograd/grad_mode.h"
#include "peft/tuners/boft/butterfly.h"
#include "peft/tuners/boft/layer.h"
#include "tests/peft/boft/boft_test_util.h"
#include "tests/peft/oft/oft_test_util.h"

using namespace peftcpp;

TEST_CASE("boft block_butterfly_perm interleaves pairs of sub-blocks as PEFT's sort_block") {
  using V = std::vector<std::int64_t>;
  // n = 16, 2 blocks of 8, sub-blocks of 2: order 0, 2, 1, 3 within each block of 8
  CHECK(
      boft::block_butterfly_perm(16, 2, 2, 1) ==
      V{0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15});
  // 4 blocks of 4 with sub-blocks of 2: sort_block(4, 2) is the identity
  CHECK(
      boft::block_butterfly_perm(16, 4, 2, 1) ==
      V{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  // one block of 8, single elements: evens then odds
  CHECK(boft::block_butterfly_perm(8, 1, 1, 1) == V{0, 2, 4, 6, 1, 3, 5, 7});
  // no butterfly factor: identity
  CHECK(boft::block_butterfly_perm(6, 3, 1, 0) == V{0, 1, 2, 3, 4, 5});
  CHECK_THROWS_WITH_AS(
      boft::block_butterfly_perm(8, 4, 2, 1),
      doctest::Contains("Invalid number of blocks"),
      ValueError);
}

TEST_CASE("boft perm2mat has P[i, perm[i]] = 1, so P v = v[perm]") {
  const std::vector<std::int64_t> perm = {2, 0, 3, 1};
  const Tensor p = boft::perm2mat(perm);
  const std::vector<float> want = {0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0};
  CHECK(p.to_vector<float>() == want);
  const Tensor v = tensor<float>({10, 11, 12, 13}, {4, 1});
  CHECK(matmul(p, v).to_vector<float>() == std::vector<float>{12, 10, 13, 11});
}

TEST_CASE("boft blocks are the Cayley transform of the skew part of boft_R") {
  NoGradGuard g;
  auto cfg = test::boft_config({"lin0"}, 2);
  auto model = get_peft_model(test::make_model(test::kMlpJson), std::move(cfg));
  auto layer = model->get_base_model()->get_submodule_as<boft::BOFTLayer>("lin0");
  Tensor& r = layer->boft_R().at("default");
  REQUIRE(r.shape() == Shape{1, 8, 2, 2});
  // block [[p, b], [c, q]]: S = [[0, a], [-a, 0]] with a = (b - c) / 2;
  // (I - S)(I + S)^-1 = [[1 - a^2, -2a], [2a, 1 - a^2]] / (1 + a^2); the diagonal of R is unused
  r.fill_(0.0);
  r.select(0, 0).select(0, 0).copy_(tensor<float>({5.0F, 0.7F, 0.1F, -3.0F}, {2, 2}));
  const Tensor q = layer->orthogonal_blocks("default").select(0, 0).select(0, 0);
  const double a = 0.3;
  const std::vector<float> got = q.to_vector<float>();
  CHECK(got[0] == doctest::Approx((1 - a * a) / (1 + a * a)).epsilon(1e-6));
  CHECK(got[1] == doctest::Approx(-2 * a / (1 + a * a)).epsilon(1e-6));
  CHECK(got[2] == doctest::Approx(2 * a / (1 + a * a)).epsilon(1e-6));
  CHECK(got[3] == doctest::Approx((1 - a * a) / (1 + a * a)).epsilon(1e-6));
}

TEST_CASE("boft with two butterfly factors builds P1 B1 P1^T P0 B0 P0^T") {
  NoGradGuard g;
  test::ButterflyScope on(true);
  auto cfg = test::boft_config({"lin0"}, 4);
  cfg->boft_n_butterfly_factor = 2;
  auto base = test::make_model(test::kMlpJson);
  base->to(kFloat64);
  auto model = get_peft_model(base, std::move(cfg));
  auto layer = model->get_base_model()->get_submodule_as<boft::BOFTLayer>("lin0");
  REQUIRE(layer->boft_R().at("default").shape() == Shape{2, 4, 4, 4});
  const auto& perms = layer->permutations("default");
  REQUIRE(perms.size() == 2);
  CHECK(perms[0] == boft::block_butterfly_perm(16, 4, 2, 1));
  CHECK(perms[1] == boft::block_butterfly_perm(16, 2, 2, 1));
  // reference: blocks through an explicit inverse, block diagonals by hand, dense P matrices
  const Tensor r = layer->boft_R().at("default");
  Tensor m = eye(16, 16, kFloat64);
  for (std::int64_t f = 0; f < 2; ++f) {
    Tensor bd = zeros({16, 16}, kFloat64);
    for (std::int64_t d = 0; d < 4; ++d) {
      const Tensor blk = r.select(0, f).select(0, d);
      const Tensor s = (blk - blk.t()) * 0.5;
      const Tensor id = eye(4, 4, kFloat64);
      const Tensor q = matmul(id - s, inverse(id + s));
      bd.slice(0, 4 * d, 4 * d + 4).slice(1, 4 * d, 4 * d + 4).copy_(q);
    }
    const Tensor p = boft::perm2mat(perms[static_cast<std::size_t>(f)]).to(kFloat64);
    m = matmul(matmul(matmul(p, bd), p.t()), m);
  }
  const Tensor got = layer->butterfly_matrix("default");
  CHECK(test::max_diff(got, m) < 1e-12);
  CHECK(test::max_diff(matmul(got, got.t()), eye(16, 16, kFloat64)) < 1e-12);
}

TEST_CASE("boft multiplicative dropout turns int(p*D) blocks of one factor into identities") {
  boft::MultiplicativeDropoutLayer drop(0.5);
  manual_seed(11);
  const Tensor x = randn({3, 4, 2, 2});
  drop.eval();
  CHECK(test::max_diff(drop.forward(x), x) == 0.0);
  drop.train();
  const Tensor y = drop.forward(x);
  int identities = 0, unchanged = 0, factors_hit = 0;
  for (std::int64_t n = 0; n < 3; ++n) {
    int hit = 0;
    for (std::int64_t d = 0; d < 4; ++d) {
      const Tensor blk = y.select(0, n).select(0, d);
      if (test::max_diff(blk, eye(2)) == 0.0) {
        ++identities;
        ++hit;
      } else if (test::max_diff(blk, x.select(0, n).select(0, d)) == 0.0) {
        ++unchanged;
      }
    }
    factors_hit += hit > 0 ? 1 : 0;
  }
  CHECK(identities == 2);
  CHECK(unchanged == 10);
  CHECK(factors_hit == 1);
}
