// AdaLoraModel operations: merge / unmerge / merge_and_unload / unload on every layer type,
// safe merge, several adapters (one trainable), the disable scope, delete_adapter, targets that
// AdaLoRA does not support, and the per-architecture default targets.
#include "models/model.h"

#include <doctest/doctest.h>

#include <limits>

#include "nn/layers/conv.h"
#include "nn/layers/linear.h"
#include "tests/peft/adalora/adalora_test_util.h"
#include "tests/peft/golden_dir.h"

using namespace peftcpp;

namespace {

const std::string kConv1DSpec =
    R"({"type": "transformers.Conv1D", "in_features": 5, "out_features": 4})";

struct Case {
  std::string spec;
  Shape input;
};

std::vector<Case> layer_cases() {
  return {
      {test::linear_spec(5, 4), {3, 5}},
      {kConv1DSpec, {2, 3, 5}},
      {test::conv2d_spec(2, 3, 3), {2, 2, 5, 5}}};
}

}  // namespace

TEST_CASE("merge, unmerge and merge_and_unload keep the output and restore the base weights") {
  for (const Case& c : layer_cases()) {
    CAPTURE(c.spec);
    auto base = test::one_layer(c.spec, 4);
    const Tensor w0 = base->get_parameter("m.weight").detach().clone();
    auto model = get_peft_model(base, test::adalora_config({"m"}, 3));
    model->eval();
    const Tensor x = randn(c.input);
    const Tensor y = model->forward(x);
    auto layer = test::ada_layer(*model, "m");
    const Tensor expected_merged = w0 + layer->get_delta_weight("default").detach();
    model->merge_adapter();
    CHECK(layer->merged());
    CHECK(test::max_diff(layer->base_weight(), expected_merged) == 0.0);
    CHECK(test::max_diff(model->forward(x), y) < 1e-5);
    model->unmerge_adapter();
    CHECK(test::max_diff(layer->base_weight(), w0) < 1e-6);
    CHECK(test::max_diff(model->forward(x), y) < 1e-6);
    nn::ModulePtr merged = model->merge_and_unload();
    CHECK(merged->get_submodule("m")->type_name() == base->get_submodule("m")->type_name());
    CHECK(test::max_diff(dynamic_cast<nn::UnaryModule&>(*merged).forward(x), y) < 1e-5);
  }
}

TEST_CASE("unload gives the base layers back unchanged") {
  auto base = test::make_mlp(1);
  const Tensor x = randn({2, 16});
  const Tensor y0 = base->forward(x);
  auto model = get_peft_model(base, test::adalora_config({"lin0", "lin1"}));
  CHECK(test::max_diff(model->forward(x), y0) > 1e-3);
  nn::ModulePtr plain = model->unload();
  CHECK(dynamic_cast<nn::Linear*>(plain->get_submodule("lin0").get()) != nullptr);
  CHECK(test::max_diff(dynamic_cast<nn::UnaryModule&>(*plain).forward(x), y0) == 0.0);
}

TEST_CASE("safe_merge rejects a non-finite delta and leaves the weight as it was") {
  auto model =
      get_peft_model(test::one_layer(test::linear_spec(4, 3)), test::adalora_config({"m"}, 2));
  auto l = test::ada_layer(*model, "m");
  const Tensor w0 = l->base_weight().detach().clone();
  {
    NoGradGuard g;
    l->lora_E().at("default").fill_(std::numeric_limits<double>::quiet_NaN());
  }
  CHECK_THROWS_WITH_AS(
      model->merge_adapter(std::nullopt, true),
      "[peft] NaNs detected in the merged weights. The adapter default seems to be broken",
      ValueError);
  CHECK_FALSE(l->merged());
  CHECK(test::max_diff(l->base_weight(), w0) == 0.0);
}

TEST_CASE("the disable scope gives the base output, also for a merged adapter") {
  auto base = test::make_mlp(3);
  const Tensor x = randn({2, 16});
  const Tensor y0 = base->forward(x);
  auto model = get_peft_model(base, test::adalora_config({"lin0", "lin1"}));
  const Tensor y = model->forward(x);
  {
    auto off = model->disable_adapter();
    CHECK(test::max_diff(model->forward(x), y0) == 0.0);
  }
  CHECK(test::max_diff(model->forward(x), y) == 0.0);
  model->merge_adapter();
  {
    auto off = model->disable_adapter();
    CHECK(test::max_diff(model->forward(x), y0) < 1e-5);
  }
}

TEST_CASE("several adapters: one trainable, others in inference mode; outputs add up") {
  auto base = test::make_mlp(4);
  const Tensor x = randn({2, 16});
  const Tensor y0 = base->forward(x);
  auto model = get_peft_model(base, test::adalora_config({"lin0"}, 3));
  const Tensor y_default = model->forward(x);
  // a second trainable adapter is refused and leaves the model as it was
  CHECK_THROWS_WITH_AS(
      model->add_adapter("second", test::adalora_config({"lin0"}, 2)),
      "[adalora] AdaLoraModel supports only 1 trainable adapter. When using multiple adapters, "
      "set inference_mode to True for all adapters except the one you want to train.",
      ValueError);
  CHECK_FALSE(model->base_model().has_adapter("second"));
  CHECK(test::ada_layer(*model, "lin0")->lora_A().keys() == std::vector<std::string>{"default"});
  auto cfg = test::adalora_config({"lin0"}, 2);
  cfg->inference_mode = true;
  model->add_adapter("second", std::move(cfg));
  auto l = test::ada_layer(*model, "lin0");
  CHECK(l->lora_A().at("second").shape() == Shape{2, 16});
  CHECK_FALSE(l->lora_A().at("second").requires_grad());
  // as in PEFT, injecting an inference-mode adapter re-sets the active ones in inference mode
  CHECK_FALSE(l->lora_A().at("default").requires_grad());
  model->set_adapter("default");
  CHECK(l->lora_A().at("default").requires_grad());
  CHECK_FALSE(l->ranknum().at("default").requires_grad());
  CHECK(test::max_diff(model->forward(x), y_default) == 0.0);  // "second" is not active
  model->set_adapter("second");
  const Tensor y_second = model->forward(x);
  CHECK(test::max_diff(y_second, y_default) > 1e-3);
  // both active: the updates of lin0 add (lin0 feeds a ReLU, so compare at lin0's output)
  model->set_adapters({"default", "second"});
  const Tensor h = l->forward(x);
  const Tensor h_base = l->base_layer()->forward(x);
  const Tensor d1 = matmul(x, l->get_delta_weight("default").t());
  const Tensor d2 = matmul(x, l->get_delta_weight("second").t());
  CHECK(test::max_diff(h, h_base + d1 + d2) < 1e-5);
  // the trainable adapter stays the first one
  CHECK(test::tuner(*model).trainable_adapter_name() == "default");
  model->set_adapter("default");
  model->delete_adapter("second");
  CHECK_FALSE(l->lora_A().contains("second"));
  CHECK_FALSE(l->ranknum().contains("second"));
  CHECK(l->r.count("second") == 0);
  CHECK(test::max_diff(model->forward(x), y_default) == 0.0);
  (void)y0;
}

TEST_CASE("AdaLoRA refuses Embedding, nn.Conv1d, grouped Conv2d and target_parameters") {
  const std::string emb = R"({"type": "Embedding", "num_embeddings": 10, "embedding_dim": 4})";
  CHECK_THROWS_WITH_AS(
      get_peft_model(test::one_layer(emb), test::adalora_config({"m"})),
      "[adalora] target module m (Embedding) is not supported. Currently, only "
      "`torch.nn.Linear`, `Conv1D`, and `torch.nn.Conv2d` are supported.",
      ValueError);
  CHECK_THROWS_AS(
      get_peft_model(test::one_layer(test::conv1d_spec(2, 3, 3)), test::adalora_config({"m"})),
      ValueError);
  CHECK_THROWS_WITH_AS(
      get_peft_model(test::one_layer(test::conv2d_spec(4, 4, 3, 2)), test::adalora_config({"m"})),
      "[adalora] SVDConv2d supports only Conv2d layers with groups == 1, got groups=2",
      ValueError);
  auto cfg = test::adalora_config(ModuleNames());
  cfg->target_parameters = std::vector<std::string>{"m.weight"};
  auto base = test::one_layer(test::linear_spec(3, 2));
  CHECK_THROWS_AS(get_peft_model(base, std::move(cfg)), ValueError);
  CHECK(dynamic_cast<nn::Linear*>(base->get_submodule("m").get()) != nullptr);
}

TEST_CASE("mixed adapter batches are refused") {
  auto model = get_peft_model(test::make_mlp(), test::adalora_config({"lin0"}));
  model->eval();
  CHECK_THROWS_AS(model->forward(randn({2, 16}), AdapterNames{"default", "__base__"}), ValueError);
  // the names are reset afterwards: a plain forward works
  CHECK(model->forward(randn({2, 16})).shape() == Shape{2, 8});
}

TEST_CASE("fan_in_fan_out is switched off for nn.Linear targets") {
  auto cfg = test::adalora_config({"m"});
  cfg->fan_in_fan_out = true;
  auto model = get_peft_model(test::one_layer(test::linear_spec(3, 2)), std::move(cfg));
  CHECK_FALSE(model->peft_config("default").as<AdaLoraConfig>().fan_in_fan_out);
  CHECK_FALSE(test::ada_layer(*model, "m")->fan_in_fan_out);
}

TEST_CASE("without target_modules AdaLoRA uses its own per-architecture defaults") {
  const std::filesystem::path dir = test::golden_dir() / "models" / "llama_causal_lm";
  if (test::golden_dir().empty() || !std::filesystem::is_directory(dir)) {
    MESSAGE("golden llama model not found; skipped");
    return;
  }
  auto cfg = test::adalora_config(ModuleNames());
  auto model = get_peft_model(models::from_pretrained(dir), std::move(cfg));
  for (const std::string& k : model->base_model().targeted_module_names()) {
    CAPTURE(k);
    CHECK((k.ends_with("q_proj") || k.ends_with("v_proj")));
  }
  CHECK_FALSE(model->base_model().targeted_module_names().empty());
  const std::filesystem::path t5 = test::golden_dir() / "models" / "t5_conditional_generation";
  if (!std::filesystem::is_directory(t5))
    return;
  auto t5_model = get_peft_model(models::from_pretrained(t5), test::adalora_config(ModuleNames()));
  bool has_k = false, has_wo = false;
  for (const std::string& k : t5_model->base_model().targeted_module_names()) {
    has_k = has_k || k.ends_with(".k");
    has_wo = has_wo || k.ends_with(".wo");
  }
  CHECK(has_k);  // LoRA's T5 default is only q and v
  CHECK(has_wo);
}
