// Properties of the LoRA initialisations (peft/tuners/lora/init.cpp).
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/grad_mode.h"
#include "peft/tuners/lora/layer.h"
#include "tests/peft/peft_test_util.h"

using namespace peftcpp;

namespace {

std::shared_ptr<lora::LoraLayer> layer_with(
    const InitWeights& init, int r = 4, std::shared_ptr<peft::CustomModel> base = nullptr) {
  if (!base)
    base = test::make_mlp(11);
  auto cfg = test::lora_config({"lin0"}, r, 8);
  cfg->init_lora_weights = init;
  auto model = get_peft_model(base, std::move(cfg));
  return model->get_base_model()->get_submodule_as<lora::LoraLayer>("lin0");
}

}  // namespace

TEST_CASE("default init is kaiming-uniform A and zero B, so the adapter starts as identity") {
  auto l = layer_with(true);
  NoGradGuard g;
  CHECK(amax(abs(l->B_weight("default"))).item<float>() == 0.0f);
  const double bound = 1.0 / std::sqrt(16.0);  // kaiming_uniform(a=sqrt(5)) on fan_in 16
  const Tensor& a = l->A_weight("default");
  CHECK(amax(abs(a)).item<float>() <= bound + 1e-6);
  CHECK(amax(abs(a)).item<float>() > 0.5 * bound);
}

TEST_CASE("gaussian init draws A with std 1/r") {
  auto base = test::make_model(R"J({"forward": "out = lin0(X)", "modules": {
      "lin0": {"type": "Linear", "in_features": 4000, "out_features": 4, "bias": true}}})J");
  auto l = layer_with("gaussian", 4, base);
  NoGradGuard g;
  const Tensor& a = l->A_weight("default");
  CHECK(peftcpp::std(a).item<float>() == doctest::Approx(0.25).epsilon(0.03));
  CHECK(amax(abs(l->B_weight("default"))).item<float>() == 0.0f);
}

TEST_CASE("pissa moves the principal components into the adapter and W is reconstructed") {
  for (const char* init : {"pissa", "pissa_niter_4"}) {
    auto base = test::make_mlp(11);
    const Tensor w = base->find_child("lin0")->get_parameter("weight").clone();
    auto l = layer_with(init, 4, base);
    NoGradGuard g;
    const Tensor rebuilt = l->base_weight() + l->get_delta_weight("default");
    CHECK(test::max_diff(rebuilt, w) < 1e-5);
    // the residual lost the top singular values of W
    const auto [u, s, vh] = svd(w);
    const auto [ur, sr, vhr] = svd(l->base_weight());
    CHECK(sr[0].item<float>() < s[0].item<float>());
    if (std::string(init) == "pissa")
      CHECK(sr[0].item<float>() == doctest::Approx(s[4].item<float>()).epsilon(1e-3));
  }
}

TEST_CASE("olora takes Q and R of W and W is reconstructed") {
  auto base = test::make_mlp(11);
  const Tensor w = base->find_child("lin0")->get_parameter("weight").clone();
  auto l = layer_with("olora", 4, base);
  NoGradGuard g;
  CHECK(test::max_diff(l->base_weight() + l->get_delta_weight("default"), w) < 1e-5);
  const Tensor& b = l->B_weight("default");  // orthonormal columns
  CHECK(test::max_diff(matmul(b.t(), b), eye(4)) < 1e-5);
}

TEST_CASE("orthogonal init gives nonzero A and B whose product is zero") {
  auto l = layer_with("orthogonal", 4);
  NoGradGuard g;
  CHECK(amax(abs(l->A_weight("default"))).item<float>() > 0.0f);
  CHECK(amax(abs(l->B_weight("default"))).item<float>() > 0.0f);
  CHECK(amax(abs(l->get_delta_weight("default"))).item<float>() < 1e-6);
  CHECK_THROWS_WITH_AS(layer_with("orthogonal", 3), doctest::Contains("even"), ValueError);
}

TEST_CASE("mica takes the minor left singular vectors for B, zero A and a frozen B") {
  auto base = test::make_mlp(11);
  const Tensor w = base->find_child("lin0")->get_parameter("weight").clone();  // [32, 16]
  auto l = layer_with("mica", 4, base);
  NoGradGuard g;
  const Tensor& b = l->B_weight("default");
  CHECK(amax(abs(l->A_weight("default"))).item<float>() == 0.0f);
  CHECK(test::max_diff(matmul(b.t(), b), eye(4)) < 1e-5);
  // ||W^T b_i|| are the 4 smallest singular values
  const auto [u, s, vh] = svd(w);
  const Tensor proj = sqrt(sum(square(matmul(w.t(), b)), {0}));
  CHECK(test::max_diff(sort(proj).first, sort(s.narrow(0, 12, 4)).first) < 1e-4);
  CHECK_FALSE(b.requires_grad());
  CHECK(l->A_weight("default").requires_grad());
}
