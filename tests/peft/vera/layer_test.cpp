// The VeRA layer math against hand-computed values, the shared projections (sized by the
// largest targeted layer, sliced per layer), init and dtypes.
#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "tests/peft/vera/vera_test_util.h"

using namespace peftcpp;

TEST_CASE("forward adds lambda_b * B (lambda_d * A x), computed by hand") {
  NoGradGuard g;
  auto base = test::make_model(R"J({"forward": "out = lin(X)", "modules": {
      "lin": {"type": "Linear", "in_features": 2, "out_features": 2, "bias": false}}})J");
  base->find_child("lin")->get_parameter("weight").copy_(tensor<float>({1, 0, 0, 1}, {2, 2}));
  auto model = get_peft_model(base, test::vera_config({"lin"}, 2));
  auto& tuner = test::vera_tuner(*model);
  tuner.vera_A()->at("default").copy_(tensor<float>({1, 2, 3, 4}, {2, 2}));   // A [r, in]
  tuner.vera_B()->at("default").copy_(tensor<float>({1, -1, 0, 2}, {2, 2}));  // B [out, r]
  auto l = test::vera_layer(*model, "lin");
  l->vera_lambda_d().at("default").copy_(tensor<float>({0.5f, 2}, {2}));
  l->vera_lambda_b().at("default").copy_(tensor<float>({3, -1}, {2}));
  const Tensor x = tensor<float>({1, 1}, {1, 2});
  // A x = [3, 7]; * lambda_d = [1.5, 14]; B @ = [1.5 - 14, 28] = [-12.5, 28]; * lambda_b = [-37.5,
  // -28]
  CHECK(test::max_diff(model->forward(x), tensor<float>({1 - 37.5f, 1 - 28.0f}, {1, 2})) < 1e-5);
  // delta W = (lambda_b * B) @ (lambda_d * A) = [[3, -3], [0, -2]] @ [[0.5, 1], [6, 8]]
  CHECK(
      test::max_diff(
          l->get_delta_weight("default"), tensor<float>({-16.5f, -21, -12, -16}, {2, 2})) < 1e-5);
}

TEST_CASE("projections are sized by the largest targeted layer and sliced per layer") {
  NoGradGuard g;
  // lin0 16 -> 32, lin1 32 -> 8: largest (out, in) = (32, 32)
  auto model = get_peft_model(test::make_mlp(), test::vera_config({"lin0", "lin1"}, 4));
  auto& tuner = test::vera_tuner(*model);
  CHECK(tuner.vera_A()->at("default").shape() == Shape{4, 32});
  CHECK(tuner.vera_B()->at("default").shape() == Shape{32, 4});
  auto l1 = test::vera_layer(*model, "lin1");
  CHECK(l1->vera_lambda_b().at("default").shape() == Shape{8});
  CHECK(l1->vera_lambda_d().at("default").shape() == Shape{4});
  // lin1's update uses A[:, :32] and B[:8, :]
  const Tensor a = tuner.vera_A()->at("default");
  const Tensor b = tuner.vera_B()->at("default").narrow(0, 0, 8);
  const Tensor want = matmul(
      l1->vera_lambda_b().at("default").unsqueeze(1) * b,
      l1->vera_lambda_d().at("default").unsqueeze(1) * a);
  CHECK(test::max_diff(l1->get_delta_weight("default"), want) < 1e-6);
  auto l0 = test::vera_layer(*model, "lin0");
  CHECK(l0->get_delta_weight("default").shape() == Shape{32, 16});
  // one projection pair, not one per layer, in the state dict
  int projections = 0;
  for (const auto& [k, v] : model->state_dict())
    projections += k.find("vera_A") != std::string::npos ? 1 : 0;
  CHECK(projections == 1);
  CHECK(model->state_dict().count("base_model.vera_A.default") == 1);
}

TEST_CASE("only the lambdas train; projections are frozen buffers") {
  auto model = get_peft_model(test::make_mlp(), test::vera_config({"lin0"}));
  std::vector<std::string> trainable;
  for (const auto& [n, p] : model->named_parameters()) {
    if (p.requires_grad())
      trainable.push_back(n);
  }
  CHECK(
      trainable == std::vector<std::string>{
                       "base_model.model.lin0.vera_lambda_b.default",
                       "base_model.model.lin0.vera_lambda_d.default"});
}

TEST_CASE("init_weights gives lambda_b = 0 and lambda_d = d_initial, so the output is unchanged") {
  NoGradGuard g;
  auto base = test::make_mlp();
  const Tensor x = randn({3, 16});
  const Tensor y = base->forward(x);
  auto cfg = test::vera_config({"lin0", "lin1"}, 4, true);
  cfg->d_initial = 0.25;
  auto model = get_peft_model(base, std::move(cfg));
  auto l = test::vera_layer(*model, "lin0");
  CHECK(test::max_diff(l->vera_lambda_d().at("default"), full({4}, 0.25)) == 0.0);
  CHECK(test::max_diff(l->vera_lambda_b().at("default"), zeros({32})) == 0.0);
  CHECK(test::max_diff(model->forward(x), y) < 1e-6);
}

TEST_CASE("a float64 base gets float64 lambdas and projections") {
  auto base = test::make_mlp();
  base->to(kFloat64);
  auto model = get_peft_model(base, test::vera_config({"lin0"}));
  CHECK(test::vera_layer(*model, "lin0")->vera_lambda_d().at("default").dtype() == kFloat64);
  CHECK(test::vera_tuner(*model).vera_A()->at("default").dtype() == kFloat64);
  CHECK(model->forward(randn({2, 16}, kFloat64)).dtype() == kFloat64);
}

TEST_CASE("VeRA targets Linear and Conv1D only, and corrects fan_in_fan_out") {
  auto model = test::make_model(test::kVeraEmbModel);
  CHECK_THROWS_WITH_AS(
      get_peft_model(model, test::vera_config({"emb"})),
      doctest::Contains("No layers types compatible with VeRA"),
      ValueError);
  auto peft =
      get_peft_model(test::make_model(test::kVeraEmbModel), test::vera_config({"conv1d", "lin0"}));
  CHECK(dynamic_cast<vera::Linear&>(*test::vera_layer(*peft, "conv1d")).is_target_conv_1d_layer);
  CHECK(test::vera_layer(*peft, "conv1d")->fan_in_fan_out);
  CHECK_FALSE(test::vera_layer(*peft, "lin0")->fan_in_fan_out);
  CHECK(test::vera_layer(*peft, "conv1d")->get_delta_weight("default").shape() == Shape{6, 8});
}

TEST_CASE("VeraConfig defaults and validation are PEFT's") {
  const VeraConfig c;
  CHECK(c.r == 256);
  CHECK(c.projection_prng_key == 0);
  CHECK(c.save_projection);
  CHECK(c.vera_dropout == 0.0);
  CHECK(c.d_initial == 0.1);
  CHECK(c.bias == "none");
  CHECK(c.init_weights);
  auto bad = test::vera_config({"lin0"});
  bad->layers_pattern = "layers";
  CHECK_THROWS_AS(get_peft_model(test::make_mlp(), std::move(bad)), ConfigError);
  auto zero = test::vera_config({"lin0"}, 0);
  CHECK_THROWS_AS(get_peft_model(test::make_mlp(), std::move(zero)), ConfigError);
  auto none = std::make_unique<VeraConfig>();
  CHECK_THROWS_WITH_AS(
      get_peft_model(test::make_mlp(), std::move(none)),
      doctest::Contains("Please specify `target_modules`"),
      ValueError);
  CHECK(
      vera::default_vera_target_modules("llama").names() ==
      std::vector<std::string>{"q_proj", "v_proj"});
  CHECK(
      vera::default_vera_target_modules("phi").names() ==
      std::vector<std::string>{"q_proj", "v_proj"});
  CHECK(vera::default_vera_target_modules("gemma4").is_string());
}

TEST_CASE("mixed-adapter batches are refused") {
  auto model = get_peft_model(test::make_mlp(), test::vera_config({"lin0"}));
  model->eval();
  CHECK_THROWS_WITH_AS(
      model->forward(randn({2, 16}), {"default", "__base__"}),
      doctest::Contains("does not support per-sample"),
      ValueError);
}
