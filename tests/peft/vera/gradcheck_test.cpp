// float64 gradient checks of VeRA layers (Linear, transformers Conv1D) with respect to the
// input and both lambda vectors.
#include "autograd/gradcheck.h"

#include <doctest/doctest.h>

#include "tests/peft/vera/vera_test_util.h"

using namespace peftcpp;

namespace {

void check_layer(const std::string& json, const std::string& target, const Tensor& x) {
  auto base = test::make_model(json, 5);
  base->to(kFloat64);
  auto model = get_peft_model(base, test::vera_config({target}, 3));
  auto layer = test::vera_layer(*model, target);
  REQUIRE(layer != nullptr);
  Tensor& lb = layer->vera_lambda_b().at("default");
  Tensor& ld = layer->vera_lambda_d().at("default");
  REQUIRE(ld.dtype() == kFloat64);
  TensorList inputs = {
      lb.detach().clone().requires_grad_(true),
      ld.detach().clone().requires_grad_(true),
      x.detach().clone().requires_grad_(true)};
  auto r = gradcheck(
      [&](const TensorList& in) {
        lb = in[0];
        ld = in[1];
        return layer->forward(in[2]);
      },
      inputs);
  CHECK_MESSAGE(r.ok, r.message);
}

}  // namespace

TEST_CASE("vera Linear passes a float64 gradcheck") {
  check_layer(
      R"J({"forward": "out = lin(X)", "modules": {
      "lin": {"type": "Linear", "in_features": 5, "out_features": 4, "bias": true}}})J",
      "lin",
      randn({3, 5}, kFloat64));
}

TEST_CASE("vera on transformers Conv1D passes a float64 gradcheck") {
  check_layer(
      R"J({"forward": "out = c(X)", "modules": {
      "c": {"type": "transformers.Conv1D", "in_features": 5, "out_features": 4}}})J",
      "c",
      randn({2, 3, 5}, kFloat64));
}
