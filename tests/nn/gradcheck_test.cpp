// float64 finite-difference gradchecks for every layer and loss of nn/.
#include "autograd/gradcheck.h"

#include <doctest/doctest.h>

#include "nn/nn.h"

using namespace peftcpp;
using namespace peftcpp::nn;
namespace F = peftcpp::nn::functional;

namespace {
void check(const std::function<Tensor(const TensorList&)>& f, const TensorList& in) {
  auto r = gradcheck(f, in);
  CHECK_MESSAGE(r.ok, r.message);
}
Tensor leaf(const Shape& s) {
  return randn(s, kFloat64).requires_grad_();
}
}  // namespace

TEST_CASE("gradcheck linear and transformers Conv1D") {
  check(
      [](const TensorList& in) { return F::linear(in[0], in[1], in[2]); },
      {leaf({2, 3, 4}), leaf({5, 4}), leaf({5})});
  Conv1D c(3, 4);
  c.to(kFloat64);
  check([&c](const TensorList& in) { return c.forward(in[0]); }, {leaf({2, 4})});
  check(
      [](const TensorList& in) { return add(matmul(in[0], in[1]), in[2]); },
      {leaf({2, 4}), leaf({4, 3}), leaf({3})});
}

TEST_CASE(
    "gradcheck embedding weight (padding_idx set but not looked up: its row is not a true "
    "derivative)") {
  Tensor ids = tensor<std::int64_t>({0, 3, 3, 1, 0, 3}, {2, 3});
  check([&ids](const TensorList& in) { return F::embedding(ids, in[0], 2); }, {leaf({4, 3})});
  check([&ids](const TensorList& in) { return F::embedding(ids, in[0]); }, {leaf({5, 2})});
}

TEST_CASE("gradcheck layer_norm and rms_norm") {
  check(
      [](const TensorList& in) { return F::layer_norm(in[0], {4}, in[1], in[2], 1e-5); },
      {leaf({3, 4}), leaf({4}), leaf({4})});
  check([](const TensorList& in) { return F::layer_norm(in[0], {2, 3}); }, {leaf({2, 2, 3})});
  check(
      [](const TensorList& in) { return F::rms_norm(in[0], in[1], 1e-6); },
      {leaf({3, 5}), leaf({5})});
}

TEST_CASE("gradcheck activations") {
  for (const char* name : {"gelu", "gelu_new", "silu", "tanh", "sigmoid", "quick_gelu", "mish"}) {
    INFO(name);
    auto act = get_activation(name);
    check([&act](const TensorList& in) { return act->forward(in[0]); }, {leaf({7})});
  }
}

TEST_CASE(
    "gradcheck cross_entropy with weights, ignore_index, label smoothing and every reduction") {
  Tensor t = tensor<std::int64_t>({2, -100, 0, 1}, {4});
  for (const char* red : {"mean", "sum", "none"}) {
    for (double eps : {0.0, 0.2}) {
      INFO(red << " eps " << eps);
      check(
          [&](const TensorList& in) {
            return F::cross_entropy(in[0], t, in[1].detach(), -100, red, eps);
          },
          {leaf({4, 3}), abs(randn({3}, kFloat64))});
      check(
          [&](const TensorList& in) {
            return F::cross_entropy(in[0], t, Tensor(), -100, red, eps);
          },
          {leaf({4, 3})});
    }
  }
  Tensor t3 = tensor<std::int64_t>({0, 2, 1, 1, 0, 2}, {2, 3});
  check([&](const TensorList& in) { return F::cross_entropy(in[0], t3); }, {leaf({2, 3, 3})});
}

TEST_CASE("gradcheck mse_loss and binary_cross_entropy_with_logits") {
  check(
      [](const TensorList& in) { return F::mse_loss(in[0], in[1]); }, {leaf({3, 2}), leaf({3, 2})});
  Tensor target = tensor<double>({0, 1, 0.3, 1, 0, 0.7}, {2, 3});
  check(
      [&](const TensorList& in) {
        return F::binary_cross_entropy_with_logits(in[0], target, in[1], in[2], "sum");
      },
      {leaf({2, 3}), leaf({2, 3}), abs(randn({3}, kFloat64)).requires_grad_()});
}

TEST_CASE("gradcheck scaled_dot_product_attention with causal, bool and additive masks and GQA") {
  Tensor q = leaf({1, 4, 3, 2}), k = leaf({1, 2, 5, 2}), v = leaf({1, 2, 5, 3});
  check(
      [](const TensorList& in) {
        return F::scaled_dot_product_attention(
            in[0], in[1], in[2], Tensor(), 0.0, true, std::nullopt, true);
      },
      {q, k, v});
  Tensor bmask = tensor<bool>(
      {true,
       true,
       false,
       true,
       false,
       true,
       true,
       true,
       true,
       false,
       true,
       false,
       true,
       true,
       true},
      {3, 5});
  check(
      [&](const TensorList& in) {
        return F::scaled_dot_product_attention(in[0], in[1], in[2], bmask, 0.0, false, 0.3, true);
      },
      {q, k, v});
  Tensor fmask = randn({1, 1, 3, 5}, kFloat64);
  check(
      [&](const TensorList& in) {
        return F::scaled_dot_product_attention(
            in[0], F::repeat_kv(in[1], 2), F::repeat_kv(in[2], 2), fmask);
      },
      {q, k, v});
}

TEST_CASE("gradcheck rotary embedding application") {
  RotaryEmbedding rope(4, 100.0);
  auto [c, s] = rope.forward(tensor<std::int64_t>({0, 1, 2}, {1, 3}), kFloat64);
  check(
      [&](const TensorList& in) {
        auto [qe, ke] = F::apply_rotary_pos_emb(in[0], in[1], c, s);
        return add(sum(qe), mul(sum(mul(ke, ke)), 0.5));
      },
      {leaf({1, 2, 3, 4}), leaf({1, 1, 3, 4})});
}

TEST_CASE("gradcheck dropout with a fixed mask (a fresh generator per evaluation)") {
  check(
      [](const TensorList& in) {
        Generator g(3);
        return F::dropout(in[0], 0.4, true, &g);
      },
      {leaf({20})});
}

TEST_CASE("gradcheck RMSNorm and LayerNorm modules through their parameters") {
  RMSNorm rn(4);
  LayerNorm ln(4);
  rn.to(kFloat64);
  ln.to(kFloat64);
  check([&](const TensorList& in) { return ln.forward(rn.forward(in[0])); }, {leaf({2, 4})});
  check(
      [&](const TensorList& in) { return F::layer_norm(F::rms_norm(in[0], in[1]), {4}, in[2], in[3]); },
      {leaf({2, 4}), rn.weight, ln.weight, ln.bias});
}
