// OFT layers and model: forward against the rotation applied by hand, merge / unmerge, several
// adapters, the disable scope, dtype handling, config validation and the errors PEFT raises.
#include "peft/tuners/oft/layer.h"

#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "peft/tuners/oft/model.h"
#include "tests/peft/oft/oft_test_util.h"

using namespace peftcpp;

namespace {

Tensor ids() {
  return tensor<std::int64_t>({1, 5, 7, 9, 0, 3, 3, 2}, {2, 4});
}

std::shared_ptr<oft::OFTLayer> layer_of(PeftModel& m, const std::string& name) {
  return m.get_base_model()->get_submodule_as<oft::OFTLayer>(name);
}

}  // namespace

TEST_CASE("oft Linear computes base(x R) with R the block-diagonal rotation") {
  NoGradGuard g;
  auto cfg = test::oft_config({"lin0"});
  cfg->use_cayley_neumann = false;
  auto model = get_peft_model(test::make_model(test::kMlpJson), std::move(cfg));
  model->eval();
  auto layer = layer_of(*model, "lin0");
  CHECK(layer->r.at("default") == 4);
  CHECK(layer->oft_block_size.at("default") == 4);
  CHECK(layer->rotation("default").weight.shape() == Shape{4, 6});
  const Tensor x = randn({3, 16});
  const Tensor rot = layer->get_delta_weight("default");
  auto& base = dynamic_cast<nn::UnaryModule&>(*layer->get_base_layer());
  CHECK(test::max_diff(layer->forward(x), base.forward(matmul(x, rot))) < 1e-5);
  // the exact Cayley transform of skew-symmetric blocks is orthogonal
  CHECK(test::max_diff(matmul(rot, rot.t()), eye(16)) < 1e-5);
}

TEST_CASE("oft merge_and_unload gives the adapted output (Linear, Embedding)") {
  NoGradGuard g;
  for (const auto& [json, targets, x] :
       {std::tuple{test::kMlpJson, ModuleNames{"lin0", "lin1"}, randn({4, 16})},
        std::tuple{test::kEmbJson, ModuleNames{"emb"}, ids()}}) {
    auto model = get_peft_model(test::make_model(json), test::oft_config(targets, 2));
    model->eval();
    const Tensor adapted = model->forward(x);
    nn::ModulePtr merged = model->merge_and_unload();
    CHECK(merged->find_child("lin0")->type_name() == "Linear");
    CHECK(
        test::max_diff(std::dynamic_pointer_cast<nn::UnaryModule>(merged)->forward(x), adapted) <
        1e-5);
  }
}

TEST_CASE("oft merge then unmerge restores the base weights of every layer type") {
  NoGradGuard g;
  for (const auto& [json, target, x] :
       {std::tuple{test::kMlpJson, "lin0", randn({4, 16})},
        std::tuple{test::kConvJson, "conv2d", randn({2, 4, 5, 5})},
        std::tuple{test::kEmbJson, "emb", ids()}}) {
    CAPTURE(target);
    auto model = get_peft_model(test::make_model(json), test::oft_config({target}, 4));
    model->eval();
    const Tensor w0 = layer_of(*model, target)->base_weight().clone();
    const Tensor before = model->forward(x);
    model->merge_adapter();
    CHECK(layer_of(*model, target)->merged());
    CHECK(test::max_diff(layer_of(*model, target)->base_weight(), w0) > 1e-3);
    model->unmerge_adapter();
    CHECK(test::max_diff(layer_of(*model, target)->base_weight(), w0) < 1e-5);
    CHECK(test::max_diff(model->forward(x), before) < 1e-5);
  }
}

TEST_CASE("oft Conv2d merges the rotation into the [out, in*k*k] kernel as PEFT does") {
  NoGradGuard g;
  auto model = get_peft_model(test::make_model(test::kConvJson), test::oft_config({"conv2d"}, 4));
  auto layer = layer_of(*model, "conv2d");
  CHECK(layer->r.at("default") == 9);  // 4 * 3 * 3 / 4
  const Tensor w = layer->base_weight().clone();
  const Tensor rot = layer->get_delta_weight("default");
  model->merge_adapter();
  const Tensor want = matmul(rot, w.reshape({8, 36}).t()).t().reshape({8, 4, 3, 3});
  CHECK(test::max_diff(layer->base_weight(), want) < 1e-6);
}

TEST_CASE("oft adapters rotate one after the other and the disable scope gives the base output") {
  NoGradGuard g;
  auto model = get_peft_model(test::make_model(test::kMlpJson), test::oft_config({"lin0"}, 4));
  model->add_adapter("other", test::oft_config({"lin0"}, 8));
  model->eval();
  auto layer = layer_of(*model, "lin0");
  const Tensor x = randn({3, 16});
  const Tensor base = [&] {
    auto scope = model->disable_adapter();
    return model->forward(x);
  }();
  auto mlp = test::make_model(test::kMlpJson);
  CHECK(test::max_diff(base, mlp->forward(x)) < 1e-6);
  model->set_adapters({"default", "other"});
  const Tensor r1 = layer->get_delta_weight("default");
  const Tensor r2 = layer->get_delta_weight("other");
  CHECK(r2.shape() == Shape{16, 16});
  CHECK(layer->r.at("other") == 2);
  auto& lin0 = dynamic_cast<nn::UnaryModule&>(*layer->get_base_layer());
  const Tensor h = dynamic_cast<nn::UnaryModule&>(*mlp->find_child("lin1"))
                       .forward(relu(lin0.forward(matmul(matmul(x, r1), r2))));
  CHECK(test::max_diff(model->forward(x), h) < 1e-5);
  // deleting the active "other" leaves "default" active
  model->delete_adapter("other");
  CHECK(layer->active_adapters() == AdapterNames{"default"});
  CHECK_FALSE(layer->oft_R().contains("other"));
  CHECK_FALSE(layer->oft_dropout().contains("other"));
}

TEST_CASE("oft trains only the active adapter and float64 bases get float64 rotations") {
  auto model = get_peft_model(test::make_model(test::kMlpJson), test::oft_config({"lin0"}));
  model->add_adapter("second", test::oft_config({"lin0"}));
  for (const auto& [n, p] : model->named_parameters()) {
    CAPTURE(n);
    CHECK(p.requires_grad() == (n.find("oft_R.default") != std::string::npos));
  }
  auto base = test::make_model(test::kMlpJson);
  base->to(kFloat64);
  auto m64 = get_peft_model(base, test::oft_config({"lin0"}));
  CHECK(layer_of(*m64, "lin0")->rotation("default").weight.dtype() == kFloat64);
  CHECK(m64->forward(randn({2, 16}, kFloat64)).dtype() == kFloat64);
}

TEST_CASE("oft init_weights=true starts as the identity rotation") {
  NoGradGuard g;
  auto cfg = test::oft_config({"lin0", "lin1"});
  cfg->init_weights = true;
  auto model = get_peft_model(test::make_model(test::kMlpJson), std::move(cfg));
  const Tensor x = randn({3, 16});
  CHECK(test::max_diff(model->forward(x), test::make_model(test::kMlpJson)->forward(x)) < 1e-6);
}

TEST_CASE("oft r and block size are adjusted to divide in_features; invalid configs throw") {
  auto cfg = test::oft_config({"lin0"});
  cfg->oft_block_size = 0;
  cfg->r = 5;  // 16 features: 5 -> 4 blocks of 4
  auto model = get_peft_model(test::make_model(test::kMlpJson), std::move(cfg));
  CHECK(layer_of(*model, "lin0")->r.at("default") == 4);
  CHECK(layer_of(*model, "lin0")->oft_block_size.at("default") == 4);
  auto both = test::oft_config({"lin0"});
  both->r = 2;
  CHECK_THROWS_AS(get_peft_model(test::make_model(test::kMlpJson), std::move(both)), ConfigError);
  auto none = test::oft_config({"lin0"});
  none->oft_block_size = 0;
  CHECK_THROWS_AS(get_peft_model(test::make_model(test::kMlpJson), std::move(none)), ConfigError);
  OFTConfig defaults;
  CHECK(defaults.oft_block_size == 32);
  CHECK(defaults.use_cayley_neumann);
  CHECK(defaults.num_cayley_neumann_terms == 5);
  CHECK(defaults.eps == 6e-5);
}

TEST_CASE("oft rejects unsupported targets and old checkpoints") {
  const char* conv1d = R"J({"forward": "out = c(X)", "modules": {
      "c": {"type": "transformers.Conv1D", "in_features": 8, "out_features": 4}}})J";
  CHECK_THROWS_WITH_AS(
      get_peft_model(test::make_model(conv1d), test::oft_config({"c"})),
      doctest::Contains("is not supported"),
      ValueError);
  const char* dilated = R"J({"forward": "out = c(X)", "modules": {
      "c": {"type": "Conv2d", "in_channels": 2, "out_channels": 2, "kernel_size": [3, 3],
            "stride": [1, 1], "padding": [0, 0], "dilation": [2, 2], "groups": 1,
            "bias": true}}})J";
  CHECK_THROWS_WITH_AS(
      get_peft_model(test::make_model(dilated), test::oft_config({"c"})),
      doctest::Contains("dilation > 1"),
      ValueError);
  auto model = get_peft_model(test::make_model(test::kMlpJson), test::oft_config({"lin0"}));
  nn::StateDict old{{"base_model.model.lin0.oft_r.weight", zeros({4, 6})}};
  CHECK_THROWS_WITH_AS(
      set_peft_model_state_dict(*model, old), doctest::Contains("old OFT checkpoint"), ValueError);
}

TEST_CASE("oft bias='oft_only' trains and saves the adapted layer's bias; unload restores it") {
  auto cfg = test::oft_config({"lin0"});
  cfg->bias = "oft_only";
  auto model = get_peft_model(test::make_model(test::kMlpJson), std::move(cfg));
  std::vector<std::string> trainable;
  for (const auto& [n, p] : model->named_parameters()) {
    if (p.requires_grad())
      trainable.push_back(n);
  }
  CHECK(
      trainable ==
      std::vector<std::string>{
          "base_model.model.lin0.base_layer.bias", "base_model.model.lin0.oft_R.default.weight"});
  const nn::StateDict saved = get_peft_model_state_dict(*model);
  CHECK(saved.count("base_model.model.lin0.base_layer.bias") == 1);
  CHECK(saved.count("base_model.model.lin0.oft_R.weight") == 1);
  NoGradGuard g;
  const Tensor x = randn({2, 16});
  nn::ModulePtr plain = model->unload();
  CHECK(plain->find_child("lin0")->type_name() == "Linear");
  CHECK(
      test::max_diff(
          std::dynamic_pointer_cast<nn::UnaryModule>(plain)->forward(x),
          test::make_model(test::kMlpJson)->forward(x)) == 0.0);
}
