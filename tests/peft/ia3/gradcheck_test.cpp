// float64 gradient checks of every (IA)^3 layer type with respect to its input and its vector.
#include "autograd/gradcheck.h"

#include <doctest/doctest.h>

#include "tests/peft/ia3/ia3_test_util.h"

using namespace peftcpp;

namespace {

void check_layer(
    const std::string& json, const std::string& target, const Tensor& x, bool feedforward) {
  auto base = test::make_model(json, 3);
  base->to(kFloat64);
  auto model = get_peft_model(
      base, feedforward ? test::ia3_config({target}, {target}) : test::ia3_config({target}));
  auto layer = test::ia3_layer(*model, target);
  REQUIRE(layer != nullptr);
  REQUIRE(layer->is_feedforward == feedforward);
  Tensor& v = layer->ia3_l().at("default");
  REQUIRE(v.dtype() == kFloat64);
  TensorList inputs = {
      v.detach().clone().requires_grad_(true), x.detach().clone().requires_grad_(true)};
  auto r = gradcheck(
      [&](const TensorList& in) {
        v = in[0];
        return layer->forward(in[1]);
      },
      inputs);
  CHECK_MESSAGE(r.ok, r.message);
}

const char* kLinear = R"J({"forward": "out = lin(X)", "modules": {
    "lin": {"type": "Linear", "in_features": 5, "out_features": 4, "bias": true}}})J";
const char* kConv1D = R"J({"forward": "out = c(X)", "modules": {
    "c": {"type": "transformers.Conv1D", "in_features": 5, "out_features": 4}}})J";
const char* kConv2d = R"J({"forward": "out = c(X)", "modules": {
    "c": {"type": "Conv2d", "in_channels": 2, "out_channels": 3, "kernel_size": [3, 3],
          "stride": [1, 1], "padding": [1, 1], "groups": 1, "bias": true}}})J";

}  // namespace

TEST_CASE("ia3 Linear passes a float64 gradcheck (output and input scaling)") {
  for (bool ff : {false, true}) check_layer(kLinear, "lin", randn({3, 5}, kFloat64), ff);
}

TEST_CASE("ia3 on transformers Conv1D passes a float64 gradcheck") {
  for (bool ff : {false, true}) check_layer(kConv1D, "c", randn({2, 3, 5}, kFloat64), ff);
}

TEST_CASE("ia3 Conv2d passes a float64 gradcheck") {
  for (bool ff : {false, true}) check_layer(kConv2d, "c", randn({2, 2, 4, 4}, kFloat64), ff);
}
