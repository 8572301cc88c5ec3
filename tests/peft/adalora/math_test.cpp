// AdaLoRA layer math against hand-computed values: the SVD-form update of SVDLinear (also on
// transformers' Conv1D), SVDConv2d against a direct convolution loop, scaling, ranknum,
// initialisation and rank 0.
#include <doctest/doctest.h>

#include <cmath>

#include "nn/layers/conv.h"
#include "nn/layers/linear.h"
#include "tests/peft/adalora/adalora_test_util.h"

using namespace peftcpp;

namespace {

void zero_base(adalora::AdaLoraLayer& l) {
  NoGradGuard g;
  l.base_weight().zero_();
  Tensor b = l.base_bias();
  if (b.defined())
    b.zero_();
}

// A [2, 3], E [2, 1], B [2, 2]: A * E = [[0.5, 1, 1.5], [0, 2, -2]], B @ (A * E) =
// [[0.5, 1, 1.5], [1, 0, 5]].
const std::vector<double> kA = {1, 2, 3, 0, 1, -1};
const std::vector<double> kE = {0.5, 2};
const std::vector<double> kB = {1, 0, 2, -1};

}  // namespace

TEST_CASE("SVDLinear adds (x (A*E)^T B^T) * lora_alpha / (ranknum + 1e-5) to the base output") {
  auto cfg = test::adalora_config({"m"}, 2);
  cfg->lora_alpha = 4;
  auto model = get_peft_model(test::one_layer(test::linear_spec(3, 2)), std::move(cfg));
  auto l = test::ada_layer(*model, "m");
  zero_base(*l);
  test::set_triplets(*l, kA, kE, kB);
  const double s = 4.0 / (2.0 + 1e-5);
  CHECK(l->scaling.at("default") == 4.0);
  CHECK(l->ranknum().at("default").item<double>() == 2.0);
  // x = [1, 1, 1]: x (A*E)^T = [3, 0]; @ B^T = [3, 6]
  const auto y = test::values(model->forward(ones({1, 3})));
  CHECK(y[0] == doctest::Approx(3 * s).epsilon(1e-6));
  CHECK(y[1] == doctest::Approx(6 * s).epsilon(1e-6));
  const auto d = test::values(l->get_delta_weight("default"));
  const std::vector<double> want = {0.5, 1, 1.5, 1, 0, 5};
  for (std::size_t i = 0; i < want.size(); ++i)
    CHECK(d[i] == doctest::Approx(want[i] * s).epsilon(1e-6));
}

TEST_CASE("SVDLinear on transformers Conv1D uses fan_in_fan_out: the delta weight is transposed") {
  const std::string spec =
      R"({"type": "transformers.Conv1D", "in_features": 3, "out_features": 2})";
  auto cfg = test::adalora_config({"m"}, 2);
  cfg->lora_alpha = 4;
  auto model = get_peft_model(test::one_layer(spec), std::move(cfg));
  CHECK(model->peft_config("default").as<AdaLoraConfig>().fan_in_fan_out);
  auto l = test::ada_layer(*model, "m");
  CHECK(l->in_features == 3);
  CHECK(l->out_features == 2);
  zero_base(*l);
  test::set_triplets(*l, kA, kE, kB);
  const Tensor d = l->get_delta_weight("default");
  CHECK(d.shape() == Shape{3, 2});
  const double s = 4.0 / (2.0 + 1e-5);
  const auto dv = test::values(d);
  const std::vector<double> want = {0.5, 1, 1, 0, 1.5, 5};  // [[0.5, 1, 1.5], [1, 0, 5]]^T
  for (std::size_t i = 0; i < want.size(); ++i)
    CHECK(dv[i] == doctest::Approx(want[i] * s).epsilon(1e-6));
  const auto y = test::values(model->forward(ones({1, 3})));
  CHECK(y[0] == doctest::Approx(3 * s).epsilon(1e-6));
  CHECK(y[1] == doctest::Approx(6 * s).epsilon(1e-6));
}

TEST_CASE("SVDConv2d convolves with B (A*E) reshaped to the kernel, with the base stride/padding") {
  auto cfg = test::adalora_config({"m"}, 3);
  auto model = get_peft_model(test::one_layer(test::conv2d_spec(2, 3, 3)), std::move(cfg));
  auto l = test::ada_layer(*model, "m");
  CHECK(l->lora_A().at("default").shape() == Shape{3, 18});
  CHECK(l->lora_B().at("default").shape() == Shape{3, 3});
  zero_base(*l);
  manual_seed(11);
  const Tensor x = randn({1, 2, 4, 4});
  const auto xv = test::values(x);
  const auto a = test::values(l->lora_A().at("default"));
  const auto e = test::values(l->lora_E().at("default"));
  const auto b = test::values(l->lora_B().at("default"));
  const double s = 8.0 / (3.0 + 1e-5);
  // kernel[o][c][i][j] = sum_k B[o][k] E[k] A[k][c*9 + i*3 + j] * s
  auto kernel = [&](int o, int c, int i, int j) {
    double acc = 0;
    for (int k = 0; k < 3; ++k) acc += b[o * 3 + k] * e[k] * a[k * 18 + c * 9 + i * 3 + j];
    return acc * s;
  };
  const auto y = test::values(model->forward(x));  // [1, 3, 4, 4], padding 1
  for (int o = 0; o < 3; ++o) {
    for (int h = 0; h < 4; ++h) {
      for (int w = 0; w < 4; ++w) {
        double acc = 0;
        for (int c = 0; c < 2; ++c) {
          for (int i = 0; i < 3; ++i) {
            for (int j = 0; j < 3; ++j) {
              const int hh = h + i - 1, ww = w + j - 1;
              if (hh < 0 || hh >= 4 || ww < 0 || ww >= 4)
                continue;
              acc += kernel(o, c, i, j) * xv[c * 16 + hh * 4 + ww];
            }
          }
        }
        CHECK(y[o * 16 + h * 4 + w] == doctest::Approx(acc).epsilon(1e-5));
      }
    }
  }
  const auto d = test::values(l->get_delta_weight("default"));
  CHECK(d[1 * 18 + 1 * 9 + 2 * 3 + 0] == doctest::Approx(kernel(1, 1, 2, 0)).epsilon(1e-6));
}

TEST_CASE("scaling is lora_alpha, or the rank when lora_alpha <= 0") {
  auto cfg = test::adalora_config({"m"}, 5);
  cfg->lora_alpha = 0;
  auto model = get_peft_model(test::one_layer(test::linear_spec(4, 3)), std::move(cfg));
  CHECK(test::ada_layer(*model, "m")->scaling.at("default") == 5.0);
}

TEST_CASE("AdaLoRA parameters have PEFT's names; ranknum is a frozen parameter equal to init_r") {
  auto model = get_peft_model(test::make_mlp(), test::adalora_config({"lin0", "lin1"}, 6));
  std::map<std::string, Tensor> params;
  for (const auto& [n, p] : model->named_parameters()) params[n] = p;
  for (const std::string layer : {"lin0", "lin1"}) {
    const std::string p = "base_model.model." + layer + ".";
    REQUIRE(params.count(p + "lora_A.default"));
    CHECK(params[p + "lora_A.default"].requires_grad());
    CHECK(params[p + "lora_B.default"].requires_grad());
    CHECK(params[p + "lora_E.default"].requires_grad());
    CHECK(params[p + "lora_E.default"].shape() == Shape{6, 1});
    CHECK_FALSE(params[p + "ranknum.default"].requires_grad());
    CHECK(params[p + "ranknum.default"].item<double>() == 6.0);
    CHECK_FALSE(params[p + "base_layer.weight"].requires_grad());
  }
  CHECK(params["base_model.model.lin0.lora_A.default"].shape() == Shape{6, 16});
  CHECK(params["base_model.model.lin0.lora_B.default"].shape() == Shape{32, 6});
}

TEST_CASE("init_lora_weights=true: E = 0 (output = base), A and B ~ N(0, 0.02); false: random E") {
  auto base = test::one_layer(test::linear_spec(64, 48));
  const Tensor x = randn({2, 64});
  const Tensor y0 = base->forward(x);
  auto cfg = test::adalora_config({"m"}, 12);
  cfg->init_lora_weights = true;
  auto model = get_peft_model(base, std::move(cfg));
  auto l = test::ada_layer(*model, "m");
  CHECK(test::max_diff(model->forward(x), y0) == 0.0);
  for (const double v : test::values(l->lora_E().at("default"))) CHECK(v == 0.0);
  for (Tensor* t : {&l->lora_A().at("default"), &l->lora_B().at("default")}) {
    const double sd = peftcpp::std(t->detach().to(kFloat64)).item<double>();
    CHECK(sd > 0.017);
    CHECK(sd < 0.023);
  }
  auto random =
      get_peft_model(test::one_layer(test::linear_spec(64, 48)), test::adalora_config({"m"}, 12));
  const double sd_e =
      peftcpp::std(test::ada_layer(*random, "m")->lora_E().at("default").detach()).item<double>();
  CHECK(sd_e > 0.5);  // torch.randn(r, 1)
}

TEST_CASE("init_r = 0 gives an adapter that changes nothing, merges as a no-op") {
  auto base = test::make_mlp();
  const Tensor x = randn({3, 16});
  const Tensor y0 = base->forward(x);
  auto model = get_peft_model(base, test::adalora_config({"lin0"}, 0));
  auto l = test::ada_layer(*model, "lin0");
  CHECK(l->lora_A().at("default").shape() == Shape{0, 16});
  CHECK(l->lora_B().at("default").shape() == Shape{32, 0});
  CHECK(test::max_diff(model->forward(x), y0) == 0.0);
  CHECK(test::tuner(*model).orth_reg_loss().item<double>() == 0.0);
  model->merge_adapter();
  CHECK(test::max_diff(model->forward(x), y0) == 0.0);
}

TEST_CASE("a negative rank is rejected by the layer") {
  auto model =
      get_peft_model(test::one_layer(test::linear_spec(4, 3)), test::adalora_config({"m"}, 2));
  auto l = test::ada_layer(*model, "m");
  const auto& cfg = model->peft_config("default").as<AdaLoraConfig>();
  CHECK_THROWS_WITH_AS(
      l->update_layer("other", -1, 8, cfg),
      "[adalora] `r` should be a positive integer or 0, but the value passed is -1",
      ValueError);
}
