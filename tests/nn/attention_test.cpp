// Attention and rotary embeddings against hand-computed values and explicit compositions.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "nn/nn.h"

using namespace peftcpp;
using namespace peftcpp::nn;
namespace F = peftcpp::nn::functional;

TEST_CASE("sdpa with one key returns v, and with equal scores averages v") {
  Tensor q = randn({1, 1, 2, 4}), k = randn({1, 1, 1, 4}), v = randn({1, 1, 1, 3});
  CHECK(max_abs_diff(F::scaled_dot_product_attention(q, k, v), v.expand({1, 1, 2, 3})) < 1e-6);
  Tensor q0 = zeros({1, 1, 1, 4}), k2 = randn({1, 1, 3, 4});
  Tensor v2 = tensor<float>({1, 2, 3, 4, 5, 6}, {1, 1, 3, 2});
  CHECK(
      max_abs_diff(
          F::scaled_dot_product_attention(q0, k2, v2), tensor<float>({3, 4}, {1, 1, 1, 2})) < 1e-6);
}

TEST_CASE("sdpa equals softmax(q k^T / sqrt(E) + mask) v, with bool masks meaning 'may attend'") {
  Tensor q = randn({2, 3, 4, 8}, kFloat64), k = randn({2, 3, 5, 8}, kFloat64),
         v = randn({2, 3, 5, 6}, kFloat64);
  Tensor fmask = randn({2, 1, 4, 5}, kFloat64);
  Tensor ref = matmul(softmax(add(div(matmul(q, k.mT()), std::sqrt(8.0)), fmask), -1), v);
  CHECK(max_abs_diff(F::scaled_dot_product_attention(q, k, v, fmask), ref) < 1e-12);
  // a bool mask equals the additive mask with -inf where false
  Tensor allow = gt(randn({4, 5}, kFloat64), -0.5);
  allow.select(1, 0).fill_(1.0);  // every query may attend key 0
  Tensor additive = where(allow, zeros({4, 5}, kFloat64), -std::numeric_limits<double>::infinity());
  CHECK(
      max_abs_diff(
          F::scaled_dot_product_attention(q, k, v, allow),
          F::scaled_dot_product_attention(q, k, v, additive)) < 1e-12);
  // custom scale
  Tensor ref2 = matmul(softmax(mul(matmul(q, k.mT()), 0.1), -1), v);
  CHECK(
      max_abs_diff(F::scaled_dot_product_attention(q, k, v, Tensor(), 0.0, false, 0.1), ref2) <
      1e-12);
}

TEST_CASE("is_causal lets query i see keys 0..i only") {
  Tensor q = randn({1, 1, 3, 4}, kFloat64), k = randn({1, 1, 3, 4}, kFloat64);
  Tensor v = eye(3, -1, kFloat64).reshape({1, 1, 3, 3});  // output row = attention weights
  Tensor w = F::scaled_dot_product_attention(q, k, v, Tensor(), 0.0, true).reshape({3, 3});
  const std::vector<double> p = w.to_vector<double>();
  CHECK(p[0] == doctest::Approx(1.0));
  CHECK(p[1] == 0.0);
  CHECK(p[2] == 0.0);
  CHECK(p[5] == 0.0);
  CHECK(p[3] + p[4] == doctest::Approx(1.0));
  CHECK_THROWS_AS(F::scaled_dot_product_attention(q, k, v, ones({3, 3}), 0.0, true), ValueError);
}

TEST_CASE("a padding mask stops attention to padded keys (their values do not matter)") {
  Tensor q = randn({1, 2, 2, 4}), k = randn({1, 2, 4, 4}), v = randn({1, 2, 4, 3});
  Tensor pad = tensor<bool>({true, true, true, false}, {1, 1, 1, 4});
  Tensor v2 = v.clone();
  v2.narrow(2, 3, 1).fill_(100.0);
  CHECK(
      max_abs_diff(
          F::scaled_dot_product_attention(q, k, v, pad),
          F::scaled_dot_product_attention(q, k, v2, pad)) < 1e-6);
}

TEST_CASE("grouped-query attention equals attention over repeat_kv'd heads") {
  Tensor k = tensor<float>({1, 2, 3, 4}, {1, 2, 1, 2});
  Tensor r = F::repeat_kv(k, 3);
  CHECK(r.shape() == Shape{1, 6, 1, 2});
  CHECK(r.to_vector<float>() == std::vector<float>{1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4});
  Tensor q = randn({2, 6, 3, 4}), kk = randn({2, 2, 5, 4}), vv = randn({2, 2, 5, 4});
  Tensor gqa = F::scaled_dot_product_attention(q, kk, vv, Tensor(), 0.0, false, std::nullopt, true);
  Tensor ref = F::scaled_dot_product_attention(q, F::repeat_kv(kk, 3), F::repeat_kv(vv, 3));
  CHECK(max_abs_diff(gqa, ref) < 1e-6);
}

TEST_CASE("rotate_half and RotaryEmbedding follow HF's convention") {
  CHECK(
      F::rotate_half(tensor<float>({1, 2, 3, 4})).to_vector<float>() ==
      std::vector<float>{-3, -4, 1, 2});
  RotaryEmbedding rope(4, 10000.0);
  // inv_freq = [1, 1/100]
  const std::vector<float> inv = rope.inv_freq.to_vector<float>();
  CHECK(inv[0] == 1.0f);
  CHECK(inv[1] == doctest::Approx(0.01));
  auto [c, s] = rope.forward(tensor<std::int64_t>({0, 3}, {1, 2}));
  CHECK(c.shape() == Shape{1, 2, 4});
  const std::vector<float> cv = c.to_vector<float>(), sv = s.to_vector<float>();
  const std::vector<double> angles = {3.0, 0.03, 3.0, 0.03};
  for (int i = 0; i < 4; ++i) {
    CHECK(cv[static_cast<std::size_t>(i)] == 1.0f);
    CHECK(
        cv[static_cast<std::size_t>(4 + i)] ==
        doctest::Approx(std::cos(angles[static_cast<std::size_t>(i)])));
    CHECK(
        sv[static_cast<std::size_t>(4 + i)] ==
        doctest::Approx(std::sin(angles[static_cast<std::size_t>(i)])));
  }
  // applying it rotates each (x_i, x_{i+h}) pair by its angle
  Tensor q = tensor<float>({1, 2, 3, 4}, {1, 1, 1, 4});
  auto [qe, ke] = F::apply_rotary_pos_emb(q, q, c.narrow(1, 1, 1), s.narrow(1, 1, 1));
  const std::vector<float> r = qe.to_vector<float>();
  CHECK(r[0] == doctest::Approx(1 * std::cos(3.0) - 3 * std::sin(3.0)));
  CHECK(r[2] == doctest::Approx(3 * std::cos(3.0) + 1 * std::sin(3.0)));
  CHECK(r[1] == doctest::Approx(2 * std::cos(0.03) - 4 * std::sin(0.03)));
  CHECK(max_abs_diff(qe, ke) == 0.0);
}
