// Merging VeRA updates into the base weights, unmerging, the disable scope and bias='vera_only'.
#include <doctest/doctest.h>

#include <limits>

#include "autograd/grad_mode.h"
#include "tests/peft/vera/vera_test_util.h"

using namespace peftcpp;

TEST_CASE("merge_and_unload gives the adapted output for Linear and Conv1D") {
  NoGradGuard g;
  const Tensor ids = tensor<std::int64_t>({1, 5, 7, 19, 0, 3, 3, 12}, {2, 4});
  for (bool emb : {false, true}) {
    auto base = emb ? test::make_model(test::kVeraEmbModel) : test::make_mlp();
    const ModuleNames targets = emb ? ModuleNames{"conv1d", "lin0"} : ModuleNames{"lin0", "lin1"};
    const Tensor x = emb ? ids : randn({4, 16});
    auto model = get_peft_model(base, test::vera_config(targets, 6));
    model->eval();
    const Tensor adapted = model->forward(x);
    nn::ModulePtr merged = model->merge_and_unload();
    CHECK(merged->find_child("lin0")->type_name() == "Linear");
    CHECK(
        test::max_diff(std::dynamic_pointer_cast<nn::UnaryModule>(merged)->forward(x), adapted) <
        1e-5);
  }
}

TEST_CASE("merge then unmerge restores the base weights") {
  NoGradGuard g;
  auto base = test::make_model(test::kVeraEmbModel);
  const Tensor w0 = base->find_child("conv1d")->get_parameter("weight").clone();
  auto model = get_peft_model(base, test::vera_config({"conv1d", "lin0"}));
  const Tensor x = tensor<std::int64_t>({1, 2, 3}, {1, 3});
  const Tensor adapted = model->forward(x);
  model->merge_adapter();
  auto l = test::vera_layer(*model, "conv1d");
  CHECK(l->merged());
  CHECK(test::max_diff(l->base_weight(), w0 + l->get_delta_weight("default")) < 1e-6);
  CHECK(test::max_diff(model->forward(x), adapted) < 1e-5);
  model->unmerge_adapter();
  CHECK_FALSE(l->merged());
  CHECK(test::max_diff(l->base_weight(), w0) < 1e-6);
}

TEST_CASE("safe_merge refuses a broken adapter and leaves the weights untouched") {
  NoGradGuard g;
  auto model = get_peft_model(test::make_mlp(), test::vera_config({"lin0"}));
  auto l = test::vera_layer(*model, "lin0");
  const Tensor w = l->base_weight().clone();
  l->vera_lambda_b().at("default").fill_(std::numeric_limits<double>::quiet_NaN());
  CHECK_THROWS_WITH_AS(
      model->merge_adapter({}, true), doctest::Contains("NaNs detected"), ValueError);
  CHECK(test::max_diff(l->base_weight(), w) == 0.0);
}

TEST_CASE("the disable scope gives the base output and restores the adapter") {
  NoGradGuard g;
  auto base = test::make_mlp();
  const Tensor x = randn({4, 16});
  const Tensor y_base = base->forward(x);
  auto model = get_peft_model(base, test::vera_config({"lin0", "lin1"}));
  const Tensor y = model->forward(x);
  CHECK(test::max_diff(y, y_base) > 1e-3);
  {
    auto off = model->disable_adapter();
    CHECK(test::max_diff(model->forward(x), y_base) < 1e-6);
  }
  CHECK(test::max_diff(model->forward(x), y) < 1e-6);
}

TEST_CASE("bias='vera_only' trains the biases of adapted layers and saves them") {
  auto cfg = test::vera_config({"lin0"});
  cfg->bias = "vera_only";
  auto model = get_peft_model(test::make_mlp(), std::move(cfg));
  std::set<std::string> trainable;
  for (const auto& [n, p] : model->named_parameters()) {
    if (p.requires_grad())
      trainable.insert(n);
  }
  CHECK(trainable.count("base_model.model.lin0.base_layer.bias") == 1);
  CHECK(trainable.count("base_model.model.lin1.bias") == 0);
  const nn::StateDict saved = get_peft_model_state_dict(*model);
  CHECK(saved.count("base_model.model.lin0.base_layer.bias") == 1);
  CHECK(saved.count("base_model.vera_A") == 1);
}
