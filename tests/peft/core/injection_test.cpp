// Injection and freezing: PEFT's parameter names, which tensors train, all-or-nothing injection,
// modules_to_save / bias settings and adapter bookkeeping (peft/tuners/base_tuner.h).
#include <doctest/doctest.h>

#include <set>

#include "peft/tuners/lora/layer.h"
#include "peft/utils/auxiliary.h"
#include "tests/peft/peft_test_util.h"

using namespace peftcpp;

namespace {

std::set<std::string> trainable(const nn::Module& m) {
  std::set<std::string> out;
  for (const auto& [n, p] : m.named_parameters()) {
    if (p.requires_grad())
      out.insert(n);
  }
  return out;
}

}  // namespace

TEST_CASE("lora parameters get PEFT's names and only they train") {
  auto model = get_peft_model(test::make_mlp(), test::lora_config({"lin0", "lin1"}));
  CHECK(
      trainable(*model) == std::set<std::string>{
                               "base_model.model.lin0.lora_A.default.weight",
                               "base_model.model.lin0.lora_B.default.weight",
                               "base_model.model.lin1.lora_A.default.weight",
                               "base_model.model.lin1.lora_B.default.weight"});
  std::set<std::string> all;
  for (const auto& [n, p] : model->named_parameters()) all.insert(n);
  CHECK(all.count("base_model.model.lin0.base_layer.weight") == 1);
  CHECK(all.count("base_model.model.lin1.base_layer.bias") == 1);
  const auto [t, total] = model->get_nb_trainable_parameters();
  CHECK(t == 4 * 16 + 32 * 4 + 4 * 32 + 8 * 4);
  CHECK(total == t + 16 * 32 + 32 + 32 * 8 + 8);
  CHECK(
      model->trainable_parameters_text().starts_with("trainable params: 352 || all params: 1,160"));
}

TEST_CASE("a rank or alpha pattern overrides r and lora_alpha per module") {
  auto cfg = test::lora_config({"lin0", "lin1"});
  cfg->rank_pattern = Json::object({{"lin1", 2}});
  cfg->alpha_pattern = Json::object({{"lin1", 3}});
  auto model = get_peft_model(test::make_mlp(), std::move(cfg));
  auto l1 = model->get_base_model()->get_submodule_as<lora::LoraLayer>("lin1");
  auto l0 = model->get_base_model()->get_submodule_as<lora::LoraLayer>("lin0");
  CHECK(l1->r.at("default") == 2);
  CHECK(l1->scaling.at("default") == doctest::Approx(1.5));
  CHECK(l0->r.at("default") == 4);
  CHECK(l0->scaling.at("default") == doctest::Approx(2.0));
}

TEST_CASE("rslora scales by alpha over sqrt(r)") {
  auto cfg = test::lora_config({"lin0"}, 4, 8);
  cfg->use_rslora = true;
  auto model = get_peft_model(test::make_mlp(), std::move(cfg));
  auto l0 = model->get_base_model()->get_submodule_as<lora::LoraLayer>("lin0");
  CHECK(l0->scaling.at("default") == doctest::Approx(4.0));
}

TEST_CASE("an unsupported target leaves the model unchanged") {
  auto model = test::make_mlp();
  auto before = model->find_child("lin0");
  // lin0 can be adapted, relu cannot: the lin0 replacement must be undone
  CHECK_THROWS_WITH_AS(
      get_peft_model(model, test::lora_config({"lin0", "relu"})),
      doctest::Contains("is not supported"),
      ValueError);
  CHECK(model->find_child("lin0") == before);
  CHECK(model->find_child("lin0")->type_name() == "Linear");
}

TEST_CASE("modules_to_save trains a copy and keeps the original frozen") {
  auto cfg = test::lora_config({"lin0"});
  cfg->modules_to_save = std::vector<std::string>{"lin1"};
  auto base = test::make_mlp();
  auto model = get_peft_model(base, std::move(cfg));
  auto w = std::dynamic_pointer_cast<ModulesToSaveWrapper>(base->find_child("lin1"));
  REQUIRE(w != nullptr);
  const auto t = trainable(*model);
  CHECK(t.count("base_model.model.lin1.modules_to_save.default.weight") == 1);
  CHECK(t.count("base_model.model.lin1.original_module.weight") == 0);
  // the copy starts equal to the original and is a different tensor
  const Tensor& orig = w->original_module()->get_parameter("weight");
  const Tensor& copy = w->copy_of("default")->get_parameter("weight");
  CHECK(!orig.is_same(copy));
  CHECK(test::max_diff(orig, copy) == 0.0);
}

TEST_CASE("bias all trains every bias, lora_only the biases of adapted layers") {
  auto cfg = test::lora_config({"lin0"});
  cfg->bias = "all";
  auto t = trainable(*get_peft_model(test::make_mlp(), std::move(cfg)));
  CHECK(t.count("base_model.model.lin0.base_layer.bias") == 1);
  CHECK(t.count("base_model.model.lin1.bias") == 1);
  cfg = test::lora_config({"lin0"});
  cfg->bias = "lora_only";
  t = trainable(*get_peft_model(test::make_mlp(), std::move(cfg)));
  CHECK(t.count("base_model.model.lin0.base_layer.bias") == 1);
  CHECK(t.count("base_model.model.lin1.bias") == 0);
}

TEST_CASE("an added adapter is inactive and frozen until set_adapter") {
  auto model = get_peft_model(test::make_mlp(), test::lora_config({"lin0"}));
  model->add_adapter("other", test::lora_config({"lin1"}));
  auto t = trainable(*model);
  CHECK(t.count("base_model.model.lin1.lora_A.other.weight") == 0);
  CHECK(t.count("base_model.model.lin0.lora_A.default.weight") == 1);
  model->set_adapter("other");
  t = trainable(*model);
  CHECK(t.count("base_model.model.lin1.lora_A.other.weight") == 1);
  CHECK(t.count("base_model.model.lin0.lora_A.default.weight") == 0);
  CHECK(model->active_adapters() == AdapterNames{"other"});
}

TEST_CASE("adding an adapter that matches nothing rolls back its config") {
  auto model = get_peft_model(test::make_mlp(), test::lora_config({"lin0"}));
  CHECK_THROWS_AS(model->add_adapter("bad", test::lora_config({"nope"})), ValueError);
  CHECK(!model->base_model().has_adapter("bad"));
  CHECK_THROWS_WITH_AS(
      model->add_adapter("default", test::lora_config({"lin0"})),
      doctest::Contains("already exists"),
      ValueError);
}

TEST_CASE("delete_adapter removes its tensors and picks the remaining adapter") {
  auto model = get_peft_model(test::make_mlp(), test::lora_config({"lin0"}));
  model->add_adapter("other", test::lora_config({"lin0"}));
  model->delete_adapter("default");
  std::set<std::string> names;
  for (const auto& [n, p] : model->named_parameters()) names.insert(n);
  CHECK(names.count("base_model.model.lin0.lora_A.default.weight") == 0);
  CHECK(names.count("base_model.model.lin0.lora_A.other.weight") == 1);
  CHECK(model->active_adapters() == AdapterNames{"other"});
  CHECK_THROWS_AS(model->delete_adapter("default"), ValueError);
}

TEST_CASE("layer and model status report adapters") {
  auto model = get_peft_model(test::make_mlp(), test::lora_config({"lin0", "lin1"}));
  const auto layers = model->get_layer_status();
  REQUIRE(layers.size() == 2);
  CHECK(layers[0].name == "model.lin0");
  CHECK(layers[0].module_type == "lora.Linear");
  CHECK(layers[0].requires_grad.at("default") == Tristate::True);
  const TunerModelStatus s = model->get_model_status();
  CHECK(s.num_adapter_layers == 2);
  CHECK(s.enabled == Tristate::True);
  CHECK(s.peft_types.at("default") == "LORA");
  {
    auto off = model->disable_adapter();
    CHECK(model->get_model_status().enabled == Tristate::False);
  }
  CHECK(model->get_model_status().enabled == Tristate::True);
}

TEST_CASE("a sequence-classification adapter trains the classifier head") {
  auto base = test::make_model(R"J({"forward": "out = classifier(relu(lin0(X)))", "modules": {
      "lin0": {"type": "Linear", "in_features": 16, "out_features": 8, "bias": true},
      "relu": {"type": "ReLU"},
      "classifier": {"type": "Linear", "in_features": 8, "out_features": 3, "bias": true}}})J");
  auto cfg = test::lora_config({"lin0"});
  cfg->task_type = TaskType::SEQ_CLS;
  auto model = get_peft_model(base, std::move(cfg));
  CHECK(model->type_name() == "PeftModelForSequenceClassification");
  CHECK(
      model->peft_config("default").as<LoraConfig>().modules_to_save ==
      std::vector<std::string>{"classifier", "score"});
  const auto t = trainable(*model);
  CHECK(t.count("base_model.model.classifier.modules_to_save.default.weight") == 1);
  CHECK(t.count("base_model.model.lin0.lora_A.default.weight") == 1);
}
