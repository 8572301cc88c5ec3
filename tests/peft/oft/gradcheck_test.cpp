// float64 gradient checks of every OFT layer type with respect to its input and its rotation
// parameters (finite differences, autograd/gradcheck.h): Cayley-Neumann and exact Cayley,
// block sharing, Linear, Conv2d (unfold / fold) and Embedding.
#include "autograd/gradcheck.h"

#include <doctest/doctest.h>

#include "peft/tuners/oft/layer.h"
#include "tests/peft/oft/oft_test_util.h"

using namespace peftcpp;

namespace {

void check_layer(
    const std::string& json,
    const std::string& target,
    const Tensor& x,
    std::unique_ptr<OFTConfig> cfg) {
  auto base = test::make_model(json, 7);
  base->to(kFloat64);
  auto model = get_peft_model(base, std::move(cfg));
  auto layer = model->get_base_model()->get_submodule_as<oft::OFTLayer>(target);
  REQUIRE(layer != nullptr);
  Tensor& w = layer->rotation("default").weight;
  REQUIRE(w.dtype() == kFloat64);
  const bool float_x = is_floating_point(x.dtype());
  TensorList inputs = {w.detach().clone().requires_grad_(true)};
  if (float_x)
    inputs.push_back(x.detach().clone().requires_grad_(true));
  auto r = gradcheck(
      [&](const TensorList& in) {
        w = in[0];
        return layer->forward(float_x ? in[1] : x);
      },
      inputs);
  CHECK_MESSAGE(r.ok, r.message);
}

const char* kLin = R"J({"forward": "out = lin(X)", "modules": {
    "lin": {"type": "Linear", "in_features": 6, "out_features": 4, "bias": true}}})J";

}  // namespace

TEST_CASE("oft Linear passes a float64 gradcheck (Neumann, exact Cayley, block share)") {
  for (bool neumann : {true, false}) {
    for (bool share : {false, true}) {
      CAPTURE(neumann);
      CAPTURE(share);
      auto cfg = test::oft_config({"lin"}, 3);
      cfg->use_cayley_neumann = neumann;
      cfg->block_share = share;
      check_layer(kLin, "lin", randn({2, 3, 6}, kFloat64), std::move(cfg));
    }
  }
}

TEST_CASE("oft Conv2d passes a float64 gradcheck") {
  const char* conv = R"J({"forward": "out = c(X)", "modules": {
      "c": {"type": "Conv2d", "in_channels": 2, "out_channels": 3, "kernel_size": [2, 2],
            "stride": [1, 1], "padding": [1, 1], "groups": 1, "bias": true}}})J";
  auto cfg = test::oft_config({"c"}, 4);
  cfg->use_cayley_neumann = false;
  check_layer(conv, "c", randn({2, 2, 3, 4}, kFloat64), std::move(cfg));
}

TEST_CASE("oft Embedding passes a float64 gradcheck") {
  const char* emb = R"J({"forward": "out = e(X)", "modules": {
      "e": {"type": "Embedding", "num_embeddings": 7, "embedding_dim": 4}}})J";
  check_layer(emb, "e", tensor<std::int64_t>({0, 6, 2, 2}, {2, 2}), test::oft_config({"e"}, 2));
}
