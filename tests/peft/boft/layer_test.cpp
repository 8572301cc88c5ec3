// BOFT layers and model: forward against the rotation and scale applied by hand, merge /
// unmerge, several adapters, the disable scope, the butterfly-factor switch, config validation
// and the errors PEFT raises.
#include "peft/tuners/boft/layer.h"

#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "nn/functional.h"
#include "nn/layers/conv.h"
#include "nn/layers/linear.h"
#include "tests/peft/boft/boft_test_util.h"
#include "tests/peft/oft/oft_test_util.h"

using namespace peftcpp;

namespace {

std::shared_ptr<boft::BOFTLayer> layer_of(PeftModel& m, const std::string& name) {
  return m.get_base_model()->get_submodule_as<boft::BOFTLayer>(name);
}

const char* kNoBias = R"J({"forward": "out = lin(X)", "modules": {
    "lin": {"type": "Linear", "in_features": 8, "out_features": 3, "bias": false}}})J";

}  // namespace

TEST_CASE("boft Linear computes (base(x M) - b) * s + b") {
  NoGradGuard g;
  auto model = get_peft_model(test::make_model(test::kMlpJson), test::boft_config({"lin0"}));
  model->eval();
  auto layer = layer_of(*model, "lin0");
  CHECK(layer->boft_block_num.at("default") == 4);
  CHECK(layer->boft_s().at("default").shape() == Shape{32, 1});
  const auto [m, s] = layer->get_delta_weight("default");
  auto& lin0 = dynamic_cast<nn::Linear&>(*layer->get_base_layer());
  const Tensor x = randn({5, 16});
  const Tensor want = (lin0.forward(matmul(x, m)) - lin0.bias) * s.squeeze(-1) + lin0.bias;
  CHECK(test::max_diff(layer->forward(x), want) < 1e-5);
  // without a bias the output is only scaled
  auto nb = get_peft_model(test::make_model(kNoBias), test::boft_config({"lin"}, 2));
  auto l2 = layer_of(*nb, "lin");
  const auto [m2, s2] = l2->get_delta_weight("default");
  const Tensor x2 = randn({2, 8});
  auto& lin = dynamic_cast<nn::Linear&>(*l2->get_base_layer());
  CHECK(test::max_diff(l2->forward(x2), lin.forward(matmul(x2, m2)) * s2.squeeze(-1)) < 1e-5);
}

TEST_CASE("boft Conv2d convolves with the rotated and scaled kernel") {
  NoGradGuard g;
  auto model = get_peft_model(test::make_model(test::kConvJson), test::boft_config({"conv2d"}));
  auto layer = layer_of(*model, "conv2d");
  CHECK(layer->boft_s().at("default").shape() == Shape{1, 8});
  CHECK(layer->boft_R().at("default").shape() == Shape{1, 9, 4, 4});  // 4 * 3 * 3 / 4
  const auto [m, s] = layer->get_delta_weight("default");
  auto& conv = dynamic_cast<nn::Conv2d&>(*layer->get_base_layer());
  const Tensor w = (matmul(m, conv.weight.reshape({8, 36}).t()).t() * s).reshape({8, 4, 3, 3});
  const Tensor x = randn({2, 4, 5, 5});
  const Tensor want = nn::functional::conv2d(x, w, conv.bias, {1}, 1);
  CHECK(test::max_diff(layer->forward(x), want) < 1e-5);
}

TEST_CASE("boft merge_and_unload gives the adapted output and unmerge restores the weights") {
  NoGradGuard g;
  for (const auto& [json, target, x] :
       {std::tuple{test::kMlpJson, "lin1", randn({4, 16})},
        std::tuple{test::kConvJson, "conv2d", randn({2, 4, 5, 5})}}) {
    CAPTURE(target);
    auto model = get_peft_model(test::make_model(json), test::boft_config({target}, 4));
    model->eval();
    const Tensor w0 = layer_of(*model, target)->base_weight().clone();
    const Tensor adapted = model->forward(x);
    model->merge_adapter();
    CHECK(test::max_diff(layer_of(*model, target)->base_weight(), w0) > 1e-3);
    CHECK(test::max_diff(model->forward(x), adapted) < 1e-5);
    model->unmerge_adapter();
    CHECK(test::max_diff(layer_of(*model, target)->base_weight(), w0) < 1e-5);
    nn::ModulePtr merged = model->merge_and_unload();
    CHECK(
        test::max_diff(std::dynamic_pointer_cast<nn::UnaryModule>(merged)->forward(x), adapted) <
        1e-5);
  }
}

TEST_CASE("boft adapters compose rotations and scales; the disable scope gives the base output") {
  NoGradGuard g;
  auto model = get_peft_model(test::make_model(kNoBias), test::boft_config({"lin"}, 2));
  model->add_adapter("other", test::boft_config({"lin"}, 4));
  model->eval();
  auto layer = layer_of(*model, "lin");
  const Tensor x = randn({3, 8});
  auto& lin = dynamic_cast<nn::Linear&>(*layer->get_base_layer());
  {
    auto scope = model->disable_adapter();
    CHECK(test::max_diff(model->forward(x), lin.forward(x)) == 0.0);
  }
  model->set_adapters({"default", "other"});
  const auto [m1, s1] = layer->get_delta_weight("default");
  const auto [m2, s2] = layer->get_delta_weight("other");
  const Tensor want = lin.forward(matmul(x, matmul(m2, m1))) * (s2 * s1).squeeze(-1);
  CHECK(test::max_diff(model->forward(x), want) < 1e-5);
  model->delete_adapter("default");
  CHECK(layer->active_adapters() == AdapterNames{"other"});
  CHECK_FALSE(layer->boft_R().contains("default"));
  CHECK(layer->boft_block_size.count("default") == 0);
}

TEST_CASE("boft_n_butterfly_factor is 1 unless enabled, as PEFT without its CUDA extension") {
  auto cfg = test::boft_config({"lin0"}, 2);
  cfg->boft_n_butterfly_factor = 3;
  {
    test::ButterflyScope off(false);
    auto model = get_peft_model(test::make_model(test::kMlpJson), cfg->clone());
    CHECK(layer_of(*model, "lin0")->boft_R().at("default").shape() == Shape{1, 8, 2, 2});
  }
  test::ButterflyScope on(true);
  auto model = get_peft_model(test::make_model(test::kMlpJson), cfg->clone());
  auto layer = layer_of(*model, "lin0");
  CHECK(layer->boft_R().at("default").shape() == Shape{3, 8, 2, 2});
  const Tensor m = layer->butterfly_matrix("default");
  CHECK(test::max_diff(matmul(m, m.t()), eye(16)) < 1e-5);
  // the factor-by-factor forward and merge agree with the dense butterfly matrix
  NoGradGuard g;
  model->eval();
  const Tensor s = layer->get_delta_weight("default").second.squeeze(-1);
  auto& lin0 = dynamic_cast<nn::Linear&>(*layer->get_base_layer());
  const Tensor x = randn({3, 16});
  const Tensor want = (lin0.forward(matmul(x, m)) - lin0.bias) * s + lin0.bias;
  CHECK(test::max_diff(layer->forward(x), want) < 1e-5);
  const Tensor w0 = lin0.weight.clone();
  model->merge_adapter();
  CHECK(test::max_diff(lin0.weight, matmul(w0, m.t()) * s.unsqueeze(-1)) < 1e-5);
  model->unmerge_adapter();
  CHECK(test::max_diff(lin0.weight, w0) < 1e-5);
}

TEST_CASE("boft rejects block settings that do not fit the layer, as PEFT") {
  auto fail = [](std::unique_ptr<BOFTConfig> c) {
    try {
      get_peft_model(test::make_model(test::kMlpJson), std::move(c));
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  auto c1 = test::boft_config({"lin0"}, 5);
  CHECK(fail(std::move(c1)) == "[boft] in_features (16) must be divisible by boft_block_size (5)!");
  auto c2 = test::boft_config({"lin0"}, 0);
  c2->boft_block_num = 3;
  CHECK(fail(std::move(c2)) == "[boft] in_features (16) must be divisible by boft_block_num (3)!");
  test::ButterflyScope on(true);
  auto c3 = test::boft_config({"lin0"}, 8);
  c3->boft_n_butterfly_factor = 3;  // 8 * 2^2 > 16
  CHECK(
      fail(std::move(c3)) ==
      "[boft] Invalid combination of in_features (16), boft_n_butterfly_factor (3) and "
      "boft_block_size (8)!");
  auto c4 = test::boft_config({"lin0"}, 0);
  c4->boft_block_num = 4;
  c4->boft_n_butterfly_factor = 4;  // 3 > log2(4)
  CHECK(
      fail(std::move(c4)) ==
      "[boft] Invalid combination of boft_n_butterfly_factor (4) and boft_block_num (4)!");
  auto c5 = test::boft_config({"lin0"}, 0);
  c5->boft_block_num = 2;
  c5->boft_n_butterfly_factor = 2;  // block size 8, 2 blocks: valid
  CHECK(fail(std::move(c5)) == "no error");
  auto both = test::boft_config({"lin0"}, 4);
  both->boft_block_num = 4;
  CHECK(fail(std::move(both)).find("BOFTConfig.boft_block_size: only one of") != std::string::npos);
  CHECK_THROWS_WITH_AS(
      get_peft_model(test::make_model(test::kEmbJson), test::boft_config({"emb"})),
      doctest::Contains("is not supported"),
      ValueError);
  BOFTConfig defaults;
  CHECK(defaults.boft_block_size == 4);
  CHECK(defaults.boft_block_num == 0);
  CHECK(defaults.boft_n_butterfly_factor == 1);
}

TEST_CASE("boft trains boft_R and boft_s of the active adapter and follows float64 bases") {
  auto base = test::make_model(test::kMlpJson);
  base->to(kFloat64);
  auto model = get_peft_model(base, test::boft_config({"lin0"}));
  model->add_adapter("b", test::boft_config({"lin0"}));
  std::vector<std::string> trainable;
  for (const auto& [n, p] : model->named_parameters()) {
    if (p.requires_grad())
      trainable.push_back(n);
    if (n.find("boft_") != std::string::npos)
      CHECK(p.dtype() == kFloat64);
  }
  CHECK(
      trainable ==
      std::vector<std::string>{
          "base_model.model.lin0.boft_R.default", "base_model.model.lin0.boft_s.default"});
}
