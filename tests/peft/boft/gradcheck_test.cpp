// float64 gradient checks of the BOFT layers with respect to their input, boft_R and boft_s
// (finite differences, autograd/gradcheck.h): Linear with and without bias, with one and with
// two butterfly factors, and Conv2d.
#include "autograd/gradcheck.h"

#include <doctest/doctest.h>

#include "peft/tuners/boft/layer.h"
#include "tests/peft/boft/boft_test_util.h"
#include "tests/peft/oft/oft_test_util.h"

using namespace peftcpp;

namespace {

void check_layer(
    const std::string& json,
    const std::string& target,
    const Tensor& x,
    std::unique_ptr<BOFTConfig> cfg) {
  auto base = test::make_model(json, 7);
  base->to(kFloat64);
  auto model = get_peft_model(base, std::move(cfg));
  auto layer = model->get_base_model()->get_submodule_as<boft::BOFTLayer>(target);
  REQUIRE(layer != nullptr);
  Tensor& r = layer->boft_R().at("default");
  Tensor& s = layer->boft_s().at("default");
  TensorList inputs = {
      r.detach().clone().requires_grad_(true),
      s.detach().clone().requires_grad_(true),
      x.detach().clone().requires_grad_(true)};
  auto res = gradcheck(
      [&](const TensorList& in) {
        r = in[0];
        s = in[1];
        return layer->forward(in[2]);
      },
      inputs);
  CHECK_MESSAGE(res.ok, res.message);
}

const char* kLin = R"J({"forward": "out = lin(X)", "modules": {
    "lin": {"type": "Linear", "in_features": 8, "out_features": 3, "bias": true}}})J";
const char* kLinNoBias = R"J({"forward": "out = lin(X)", "modules": {
    "lin": {"type": "Linear", "in_features": 8, "out_features": 3, "bias": false}}})J";

}  // namespace

TEST_CASE("boft Linear passes a float64 gradcheck") {
  check_layer(kLin, "lin", randn({2, 8}, kFloat64), test::boft_config({"lin"}, 4));
  check_layer(kLinNoBias, "lin", randn({2, 2, 8}, kFloat64), test::boft_config({"lin"}, 2));
}

TEST_CASE("boft Linear with two butterfly factors passes a float64 gradcheck") {
  test::ButterflyScope on(true);
  auto cfg = test::boft_config({"lin"}, 2);
  cfg->boft_n_butterfly_factor = 2;
  check_layer(kLin, "lin", randn({2, 8}, kFloat64), std::move(cfg));
}

TEST_CASE("boft Conv2d passes a float64 gradcheck") {
  const char* conv = R"J({"forward": "out = c(X)", "modules": {
      "c": {"type": "Conv2d", "in_channels": 2, "out_channels": 3, "kernel_size": [2, 2],
            "stride": [1, 1], "padding": [1, 1], "groups": 1, "bias": true}}})J";
  check_layer(conv, "c", randn({2, 2, 3, 3}, kFloat64), test::boft_config({"c"}, 4));
}
