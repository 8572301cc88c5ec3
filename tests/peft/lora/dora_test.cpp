// DoRA layers against formulas computed by hand: y = m / ||W + s B A||_row * (W + s B A) applied
// like the base layer (Liu et al. 2024, arXiv:2402.09353), with the norm treated as a constant in
// the backward pass.
#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "nn/functional.h"
#include "peft/tuners/lora/layer.h"
#include "tests/peft/peft_test_util.h"

using namespace peftcpp;

namespace {

Tensor& magnitude(lora::LoraLayer& l) {
  return l.lora_magnitude_vector().at("default")->get_parameter("weight");
}

std::unique_ptr<LoraConfig> dora_config(ModuleNames targets) {
  auto c = test::lora_config(std::move(targets), 4, 8);
  c->use_dora = true;
  return c;
}

}  // namespace

TEST_CASE("dora linear matches the hand-computed weight decomposition") {
  auto model = get_peft_model(test::make_mlp(3), dora_config({"lin0"}));
  auto l0 = model->get_base_model()->get_submodule_as<lora::LoraLayer>("lin0");
  const Tensor w = l0->base_weight().detach();
  const Tensor b = l0->base_bias().detach();
  const Tensor a = l0->A_weight("default").detach();
  const Tensor bb = l0->B_weight("default").detach();
  const double s = l0->scaling.at("default");
  const Tensor v = w + matmul(bb, a) * s;           // [32, 16]
  const Tensor n = sqrt(sum(v * v, {1}));           // row norms
  CHECK(test::max_diff(magnitude(*l0), n) < 1e-5);  // init: m = ||W + sBA||
  // a trained magnitude
  Tensor& m = magnitude(*l0);
  {
    NoGradGuard g;
    m.copy_(n * (rand({32}) + 0.5));
  }
  const Tensor x = randn({5, 16});
  const Tensor expect = nn::functional::linear(x, v * (m.detach() / n).unsqueeze(1), b);
  const Tensor got = l0->forward(x);
  CHECK(test::max_diff(got, expect) < 1e-5);

  // gradients: the norm is a constant
  const Tensor gout = randn({5, 32});
  sum(got * gout).backward();
  const Tensor xv = matmul(x, v.t());  // [5, 32]
  CHECK(test::max_diff(m.grad(), sum(gout * xv / n, {0})) < 1e-4);
  const Tensor gs = gout * (m.detach() / n);               // [5, 32]
  const Tensor db = matmul(gs.t(), matmul(x, a.t())) * s;  // [32, 4]
  CHECK(test::max_diff(l0->B_weight("default").grad(), db) < 1e-4);
}

TEST_CASE("dora embedding scales the columns of the adapted table") {
  auto model = get_peft_model(
      test::make_model(R"J({"forward": "out = emb(X)", "modules": {
      "emb": {"type": "Embedding", "num_embeddings": 12, "embedding_dim": 5}}})J"),
      dora_config({"emb"}));
  auto e = model->get_base_model()->get_submodule_as<lora::LoraLayer>("emb");
  NoGradGuard g;
  const Tensor w = e->base_weight();  // [12, 5]
  const Tensor delta =
      matmul(e->lora_embedding_B().at("default"), e->lora_embedding_A().at("default")).t() *
      e->scaling.at("default");  // [12, 5]
  const Tensor v = w + delta;
  const Tensor n = sqrt(sum(v * v, {0}));  // per embedding dim
  CHECK(test::max_diff(magnitude(*e), n) < 1e-5);
  magnitude(*e).copy_(n * 1.7);
  const Tensor ids = tensor<std::int64_t>({0, 3, 11, 3}, {2, 2});
  const Tensor expect = nn::functional::embedding(ids, v * (magnitude(*e) / n).unsqueeze(0));
  CHECK(test::max_diff(e->forward(ids), expect) < 1e-5);
}

TEST_CASE("dora conv2d scales each output channel of the adapted kernel") {
  auto model = get_peft_model(
      test::make_model(R"J({"forward": "out = conv(X)", "modules": {
      "conv": {"type": "Conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": [3, 3],
               "stride": [1, 1], "padding": [1, 1], "groups": 1, "bias": true}}})J"),
      dora_config({"conv"}));
  auto c = model->get_base_model()->get_submodule_as<lora::ConvNd>("conv");
  NoGradGuard g;
  const Tensor w = c->base_weight();  // [4, 3, 3, 3]
  const Tensor v = w + c->get_delta_weight("default");
  const Tensor n = sqrt(sum(v * v, {1, 2, 3}));  // [4]
  CHECK(test::max_diff(magnitude(*c).reshape({4}), n) < 1e-5);
  CHECK(magnitude(*c).shape() == Shape{1, 4, 1, 1});
  magnitude(*c).copy_((n * 0.6).reshape({1, 4, 1, 1}));
  const Tensor x = randn({2, 3, 6, 6});
  const Tensor expect = nn::functional::conv2d(x, v * 0.6, c->base_bias(), {1}, 1);
  CHECK(test::max_diff(c->forward(x), expect) < 1e-5);
}

TEST_CASE("dora magnitude gradient passes a float64 gradcheck") {
  auto base = test::make_mlp(5);
  base->to(kFloat64);
  auto model = get_peft_model(base, dora_config({"lin0"}));
  auto l0 = model->get_base_model()->get_submodule_as<lora::LoraLayer>("lin0");
  Tensor& m = magnitude(*l0);
  const Tensor x = randn({3, 16}, kFloat64);
  const Tensor m0 = m.detach().clone().requires_grad_(true);
  auto r = gradcheck(
      [&](const TensorList& in) {
        m = in[0];
        return l0->forward(x);
      },
      {m0});
  CHECK_MESSAGE(r.ok, r.message);
}
