// float64 gradient checks of every LoRA layer type with respect to its input and its A / B
// weights (finite differences, autograd/gradcheck.h).
#include "autograd/gradcheck.h"

#include <doctest/doctest.h>

#include "peft/tuners/lora/layer.h"
#include "tests/peft/peft_test_util.h"

using namespace peftcpp;

namespace {

// Checks d layer(x) / d {x, A, B} (x only when floating point).
void check_layer(
    const std::string& json,
    const std::string& target,
    const Tensor& x,
    std::unique_ptr<LoraConfig> cfg) {
  auto base = test::make_model(json, 7);
  base->to(kFloat64);
  auto model = get_peft_model(base, std::move(cfg));
  auto layer = model->get_base_model()->get_submodule_as<lora::LoraLayer>(target);
  REQUIRE(layer != nullptr);
  const bool emb = layer->lora_embedding_A().contains("default");
  Tensor& a = emb ? layer->lora_embedding_A().at("default") : layer->A_weight("default");
  Tensor& b = emb ? layer->lora_embedding_B().at("default") : layer->B_weight("default");
  const bool float_x = is_floating_point(x.dtype());
  TensorList inputs = {
      a.detach().clone().requires_grad_(true), b.detach().clone().requires_grad_(true)};
  if (float_x)
    inputs.push_back(x.detach().clone().requires_grad_(true));
  auto r = gradcheck(
      [&](const TensorList& in) {
        a = in[0];
        b = in[1];
        return layer->forward(float_x ? in[2] : x);
      },
      inputs);
  CHECK_MESSAGE(r.ok, r.message);
}

}  // namespace

TEST_CASE("lora Linear passes a float64 gradcheck") {
  check_layer(
      R"J({"forward": "out = lin(X)", "modules": {
      "lin": {"type": "Linear", "in_features": 5, "out_features": 4, "bias": true}}})J",
      "lin",
      randn({3, 5}, kFloat64),
      test::lora_config({"lin"}, 2));
}

TEST_CASE("lora on transformers Conv1D passes a float64 gradcheck") {
  auto cfg = test::lora_config({"c"}, 2);
  cfg->fan_in_fan_out = true;
  check_layer(
      R"J({"forward": "out = c(X)", "modules": {
      "c": {"type": "transformers.Conv1D", "in_features": 5, "out_features": 4}}})J",
      "c",
      randn({2, 3, 5}, kFloat64),
      std::move(cfg));
}

TEST_CASE("lora Embedding passes a float64 gradcheck") {
  check_layer(
      R"J({"forward": "out = e(X)", "modules": {
      "e": {"type": "Embedding", "num_embeddings": 7, "embedding_dim": 3}}})J",
      "e",
      tensor<std::int64_t>({0, 6, 2, 2}, {2, 2}),
      test::lora_config({"e"}, 2));
}

TEST_CASE("lora Conv1d passes a float64 gradcheck") {
  check_layer(
      R"J({"forward": "out = c(X)", "modules": {
      "c": {"type": "Conv1d", "in_channels": 2, "out_channels": 3, "kernel_size": [3],
            "stride": [1], "padding": [1], "groups": 1, "bias": true}}})J",
      "c",
      randn({2, 2, 5}, kFloat64),
      test::lora_config({"c"}, 2));
}

TEST_CASE("lora Conv2d (3x3 and 1x1) passes a float64 gradcheck") {
  for (int k : {3, 1}) {
    const std::string ks = std::to_string(k), ps = std::to_string(k / 2);
    const std::string json =
        "{\"forward\": \"out = c(X)\", \"modules\": {\"c\": {\"type\": \"Conv2d\", "
        "\"in_channels\": 2, \"out_channels\": 3, \"kernel_size\": [" +
        ks + ", " + ks + "], \"stride\": [1, 1], \"padding\": [" + ps + ", " + ps +
        "], \"groups\": 1, \"bias\": true}}}";
    check_layer(json, "c", randn({2, 2, 4, 4}, kFloat64), test::lora_config({"c"}, 2));
  }
}

TEST_CASE("lora with lora_bias passes a float64 gradcheck") {
  auto cfg = test::lora_config({"lin"}, 2);
  cfg->lora_bias = true;
  check_layer(
      R"J({"forward": "out = lin(X)", "modules": {
      "lin": {"type": "Linear", "in_features": 5, "out_features": 4, "bias": true}}})J",
      "lin",
      randn({3, 5}, kFloat64),
      std::move(cfg));
}

TEST_CASE("lora ParamWrapper (target_parameters) passes a float64 gradcheck") {
  auto cfg = std::make_unique<LoraConfig>();
  cfg->r = 2;
  cfg->init_lora_weights = false;
  cfg->target_parameters = std::vector<std::string>{"lin.weight"};
  auto base = test::make_model(
      R"J({"forward": "out = lin(relu(pre(X)))", "modules": {
      "pre": {"type": "Linear", "in_features": 3, "out_features": 5, "bias": true},
      "relu": {"type": "ReLU"},
      "lin": {"type": "Linear", "in_features": 5, "out_features": 4, "bias": true}}})J",
      7);
  base->to(kFloat64);
  auto model = get_peft_model(base, std::move(cfg));
  auto layer = model->get_base_model()->get_submodule_as<lora::ParamWrapper>("lin");
  REQUIRE(layer != nullptr);
  Tensor& a = layer->A_weight("default");
  Tensor& b = layer->B_weight("default");
  const Tensor x = randn({3, 5}, kFloat64);
  auto r = gradcheck(
      [&](const TensorList& in) {
        a = in[0];
        b = in[1];
        return layer->forward(in[2]);
      },
      {a.detach().clone().requires_grad_(true),
       b.detach().clone().requires_grad_(true),
       x.clone().requires_grad_(true)});
  CHECK_MESSAGE(r.ok, r.message);
  // the wrapped weight is back to the base tensor after forward
  CHECK(layer->param().is_leaf());
}
