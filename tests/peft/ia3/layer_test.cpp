// The (IA)^3 layer math against hand-computed values: output vs input scaling, several active
// adapters, the identity init, vector shapes and dtypes.
#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "tests/peft/ia3/ia3_test_util.h"

using namespace peftcpp;

namespace {

// out = lin(X) with lin 3 -> 2, W = [[1, 2, 3], [4, 5, 6]], b = [0.5, -1].
std::shared_ptr<peft::CustomModel> tiny_linear() {
  auto m = test::make_model(R"J({"forward": "out = lin(X)", "modules": {
      "lin": {"type": "Linear", "in_features": 3, "out_features": 2, "bias": true}}})J");
  NoGradGuard g;
  m->find_child("lin")->get_parameter("weight").copy_(tensor<float>({1, 2, 3, 4, 5, 6}, {2, 3}));
  m->find_child("lin")->get_parameter("bias").copy_(tensor<float>({0.5f, -1.0f}, {2}));
  return m;
}

const Tensor kX = tensor<float>({1, -1, 2}, {1, 3});

}  // namespace

TEST_CASE("output scaling multiplies each output feature of base(x)") {
  NoGradGuard g;
  auto model = get_peft_model(tiny_linear(), test::ia3_config({"lin"}));
  auto l = test::ia3_layer(*model, "lin");
  CHECK(l->ia3_l().at("default").shape() == Shape{2, 1});
  l->ia3_l().at("default").copy_(tensor<float>({2, -0.5f}, {2, 1}));
  // W x + b = [1 - 2 + 6 + 0.5, 4 - 5 + 12 - 1] = [5.5, 10]; times [2, -0.5]
  CHECK(test::max_diff(model->forward(kX), tensor<float>({11.0f, -5.0f}, {1, 2})) < 1e-6);
}

TEST_CASE("feed-forward scaling multiplies each input feature before the base layer") {
  NoGradGuard g;
  auto model = get_peft_model(tiny_linear(), test::ia3_config({"lin"}, {"lin"}));
  auto l = test::ia3_layer(*model, "lin");
  CHECK(l->is_feedforward);
  CHECK(l->ia3_l().at("default").shape() == Shape{1, 3});
  l->ia3_l().at("default").copy_(tensor<float>({2, 0, -1}, {1, 3}));
  // x * l = [2, 0, -2]; W (x * l) + b = [2 - 6 + 0.5, 8 - 12 - 1]
  CHECK(test::max_diff(model->forward(kX), tensor<float>({-3.5f, -5.0f}, {1, 2})) < 1e-6);
}

TEST_CASE("several active adapters multiply their vectors") {
  NoGradGuard g;
  auto model = get_peft_model(tiny_linear(), test::ia3_config({"lin"}));
  model->add_adapter("b", test::ia3_config({"lin"}));
  auto l = test::ia3_layer(*model, "lin");
  l->ia3_l().at("default").copy_(tensor<float>({2, 3}, {2, 1}));
  l->ia3_l().at("b").copy_(tensor<float>({0.5f, -1}, {2, 1}));
  model->set_adapters({"default", "b"});
  CHECK(test::max_diff(model->forward(kX), tensor<float>({5.5f, -30.0f}, {1, 2})) < 1e-6);
  model->set_adapter("b");
  CHECK(test::max_diff(model->forward(kX), tensor<float>({2.75f, -10.0f}, {1, 2})) < 1e-6);
}

TEST_CASE("init_ia3_weights gives ones, so a new adapter does not change the output") {
  NoGradGuard g;
  auto base = test::make_model(test::kIa3ConvModel);
  const Tensor x = randn({2, 3, 5, 5});
  const Tensor y = base->forward(x);
  auto model = get_peft_model(base, test::ia3_config({"conv2d", "lin0"}, {"lin0"}, true));
  for (const char* name : {"conv2d", "lin0"}) {
    const Tensor& v = test::ia3_layer(*model, name)->ia3_l().at("default");
    CHECK(test::max_diff(v, ones_like(v)) == 0.0);
  }
  CHECK(test::max_diff(model->forward(x), y) < 1e-6);
  // without init the vectors are standard normal draws
  auto random = get_peft_model(test::make_model(test::kIa3ConvModel), test::ia3_config({"lin0"}));
  const Tensor& v = test::ia3_layer(*random, "lin0")->ia3_l().at("default");
  CHECK(test::max_diff(v, ones_like(v)) > 0.1);
}

TEST_CASE("conv vectors are [1, C, 1, 1]: out channels, or in channels for feed-forward") {
  auto out = get_peft_model(test::make_model(test::kIa3ConvModel), test::ia3_config({"conv2d"}));
  CHECK(test::ia3_layer(*out, "conv2d")->ia3_l().at("default").shape() == Shape{1, 4, 1, 1});
  auto ff = get_peft_model(
      test::make_model(test::kIa3ConvModel), test::ia3_config({"conv2d"}, {"conv2d"}));
  CHECK(test::ia3_layer(*ff, "conv2d")->ia3_l().at("default").shape() == Shape{1, 3, 1, 1});
}

TEST_CASE("conv output scaling equals scaling each output channel by hand") {
  NoGradGuard g;
  auto base = test::make_model(test::kIa3ConvModel);
  auto conv = std::dynamic_pointer_cast<nn::UnaryModule>(base->find_child("conv2d"));
  const Tensor x = randn({2, 3, 5, 5});
  const Tensor y = conv->forward(x);
  auto model = get_peft_model(base, test::ia3_config({"conv2d"}));
  auto l = test::ia3_layer(*model, "conv2d");
  const Tensor v = tensor<float>({1, -2, 0.5f, 3}, {1, 4, 1, 1});
  l->ia3_l().at("default").copy_(v);
  for (std::int64_t c = 0; c < 4; ++c) {
    const double s = v.flatten().narrow(0, c, 1).item<float>();
    CHECK(test::max_diff(l->forward(x).narrow(1, c, 1), y.narrow(1, c, 1) * s) < 1e-5);
  }
}

TEST_CASE("vectors follow a float64 base and train only while active") {
  auto base = test::make_mlp();
  base->to(kFloat64);
  auto model = get_peft_model(base, test::ia3_config({"lin0"}));
  model->add_adapter("other", test::ia3_config({"lin0"}));
  auto l = test::ia3_layer(*model, "lin0");
  CHECK(l->ia3_l().at("default").dtype() == kFloat64);
  CHECK(l->ia3_l().at("default").requires_grad());
  CHECK_FALSE(l->ia3_l().at("other").requires_grad());
  CHECK_FALSE(l->base_weight().requires_grad());
  model->set_adapter("other");
  CHECK_FALSE(l->ia3_l().at("default").requires_grad());
  CHECK(l->ia3_l().at("other").requires_grad());
}

TEST_CASE("mixed-adapter batches are refused") {
  auto model = get_peft_model(test::make_mlp(), test::ia3_config({"lin0"}));
  model->eval();
  CHECK_THROWS_WITH_AS(
      model->forward(randn({2, 16}), {"default", "__base__"}),
      doctest::Contains("does not support per-sample"),
      ValueError);
}
