// LoKrModel: config defaults and validation, merge / unmerge / merge_and_unload / unload,
// several adapters, the disable scope, rank / alpha patterns, trainable set and unsupported
// targets.
#include "models/model.h"

#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "nn/layers/linear.h"
#include "peft/tuners/lokr/model.h"
#include "tests/peft/lycoris/lycoris_test_util.h"

using namespace peftcpp;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<lokr::LoKrLayer> layer_of(PeftModel& model, const std::string& name) {
  auto l = model.get_base_model()->get_submodule_as<lokr::LoKrLayer>(name);
  REQUIRE(l != nullptr);
  return l;
}

std::string config_error(const std::string& fields) {
  try {
    peft_config_from_json(Json::parse("{\"peft_type\": \"LOKR\", " + fields + "}"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("LoKrConfig has PEFT's defaults and rejects invalid values naming the key") {
  const LoKrConfig c;
  CHECK(c.r == 8);
  CHECK(c.alpha == 8);
  CHECK(c.rank_dropout == 0.0);
  CHECK(c.module_dropout == 0.0);
  CHECK_FALSE(c.use_effective_conv2d);
  CHECK_FALSE(c.decompose_both);
  CHECK(c.decompose_factor == -1);
  CHECK_FALSE(c.rank_dropout_scale);
  CHECK(c.init_weights == true);
  CHECK(
      config_error("\"init_weights\": \"gaussian\"").find("LoKrConfig.init_weights") !=
      std::string::npos);
  CHECK(
      config_error("\"module_dropout\": -0.1").find("LoKrConfig.module_dropout") !=
      std::string::npos);
  CHECK(
      config_error("\"layers_pattern\": \"layers\"").find("layers_to_transform") !=
      std::string::npos);
  CHECK(config_error("\"init_weights\": \"lycoris\", \"decompose_factor\": 4") == "no error");
}

TEST_CASE("lokr merge then unmerge restores the base weights; merged output matches") {
  for (bool safe : {false, true}) {
    CAPTURE(safe);
    auto cfg = test::lycoris_config<LoKrConfig>({"lin0", "lin1"}, 4);
    auto model = get_peft_model(test::make_mlp(1), std::move(cfg));
    model->eval();
    NoGradGuard g;
    const Tensor x = randn({3, 16});
    const Tensor y = model->forward(x);
    auto l0 = layer_of(*model, "lin0");
    const Tensor w0 = l0->base_weight().clone();
    const Tensor d0 = l0->get_delta_weight("default");
    model->merge_adapter(std::nullopt, safe);
    CHECK(l0->merged());
    CHECK(test::max_diff(l0->base_weight(), w0 + d0) < 1e-6);
    CHECK(test::max_diff(model->forward(x), y) < 1e-5);
    model->unmerge_adapter();
    CHECK_FALSE(l0->merged());
    CHECK(test::max_diff(l0->base_weight(), w0) < 1e-6);
    CHECK(test::max_diff(model->forward(x), y) < 1e-5);
  }
}

TEST_CASE("lokr merge_and_unload returns plain layers with merged weights; unload does not merge") {
  auto model = get_peft_model(test::make_mlp(1), test::lycoris_config<LoKrConfig>({"lin0"}));
  model->eval();
  NoGradGuard g;
  const Tensor x = randn({3, 16});
  const Tensor y = model->forward(x);
  auto l0 = layer_of(*model, "lin0");
  const Tensor want = l0->base_weight() + l0->get_delta_weight("default");
  nn::ModulePtr merged = model->merge_and_unload();
  auto lin0 = std::dynamic_pointer_cast<nn::Linear>(merged->find_child("lin0"));
  REQUIRE(lin0 != nullptr);
  CHECK(test::max_diff(lin0->weight, want) < 1e-6);
  CHECK(test::max_diff(std::dynamic_pointer_cast<nn::UnaryModule>(merged)->forward(x), y) < 1e-5);

  auto base = test::make_mlp(1);
  const Tensor w = std::dynamic_pointer_cast<nn::Linear>(base->find_child("lin0"))->weight.clone();
  auto again = get_peft_model(base, test::lycoris_config<LoKrConfig>({"lin0"}));
  nn::ModulePtr plain = again->unload();
  auto lin = std::dynamic_pointer_cast<nn::Linear>(plain->find_child("lin0"));
  REQUIRE(lin != nullptr);
  CHECK(test::max_diff(lin->weight, w) == 0.0);
}

TEST_CASE("lokr adapters can be added, switched, combined and deleted") {
  auto base = test::make_mlp(2);
  const Tensor x = randn({3, 16});
  const Tensor y0 = base->forward(x);
  auto model = get_peft_model(base, test::lycoris_config<LoKrConfig>({"lin0"}, 4));
  model->add_adapter("second", test::lycoris_config<LoKrConfig>({"lin0"}, 2));
  model->eval();
  auto l = layer_of(*model, "lin0");
  NoGradGuard g;
  const Tensor d1 = l->get_delta_weight("default"), d2 = l->get_delta_weight("second");
  const Tensor y1 = model->forward(x);
  model->set_adapter("second");
  const Tensor y2 = model->forward(x);
  CHECK(test::max_diff(y1, y2) > 1e-4);
  // lin1(relu(lin0(x))) with lin0's weight W + d
  auto with_delta = [&](const Tensor& d) {
    auto m = test::make_mlp(2);
    auto lin0 = std::dynamic_pointer_cast<nn::Linear>(m->find_child("lin0"));
    lin0->weight = lin0->weight + d;
    return m->forward(x);
  };
  CHECK(test::max_diff(y1, with_delta(d1)) < 1e-5);
  CHECK(test::max_diff(y2, with_delta(d2)) < 1e-5);
  model->set_adapters({"default", "second"});
  CHECK(test::max_diff(model->forward(x), with_delta(d1 + d2)) < 1e-5);
  model->set_adapter("default");
  model->delete_adapter("second");
  CHECK_FALSE(l->params("lokr_w1").contains("second"));
  CHECK(l->r.count("second") == 0);
  CHECK(test::max_diff(model->forward(x), y1) == 0.0);
  CHECK(test::max_diff(y0, y1) > 1e-4);
}

TEST_CASE("lokr disable scope gives the base output and re-enables on exit") {
  auto base = test::make_mlp(3);
  const Tensor x = randn({2, 16});
  const Tensor y0 = base->forward(x);
  auto model = get_peft_model(base, test::lycoris_config<LoKrConfig>({"lin0", "lin1"}));
  model->eval();
  const Tensor y = model->forward(x);
  {
    auto scope = model->disable_adapter();
    CHECK(test::max_diff(model->forward(x), y0) == 0.0);
  }
  CHECK(test::max_diff(model->forward(x), y) == 0.0);
}

TEST_CASE("lokr trains only the active adapter's lokr tensors") {
  auto model = get_peft_model(test::make_mlp(0), test::lycoris_config<LoKrConfig>({"lin0"}));
  model->add_adapter("other", test::lycoris_config<LoKrConfig>({"lin1"}));
  std::set<std::string> trainable;
  for (const auto& [n, p] : model->named_parameters()) {
    if (p.requires_grad())
      trainable.insert(n);
  }
  const std::string pre = "base_model.model.lin0.";
  // 16 = 4 * 4, 32 = 4 * 8 and r = 4: both factors full
  CHECK(trainable == std::set<std::string>{pre + "lokr_w1.default", pre + "lokr_w2.default"});
}

TEST_CASE("lokr rank_pattern and alpha_pattern override r and alpha per module") {
  auto cfg = test::lycoris_config<LoKrConfig>({"lin0", "lin1"}, 4, 8);
  cfg->rank_pattern = Json::parse(R"({"lin1": 2})");
  cfg->alpha_pattern = Json::parse(R"({"lin1": 3})");
  auto model = get_peft_model(test::make_mlp(0), std::move(cfg));
  auto l0 = layer_of(*model, "lin0"), l1 = layer_of(*model, "lin1");
  CHECK(l0->r.at("default") == 4);
  CHECK(l0->scaling.at("default") == 2.0);
  CHECK(l1->r.at("default") == 2);
  CHECK(l1->scaling.at("default") == 1.5);
  // lin1 32 -> 8: in 4 * 8, out 2 * 4; r = 2 < 8 / 2 decomposes w2
  CHECK(l1->params("lokr_w2_a").at("default").shape() == Shape{4, 2});
  CHECK(l1->params("lokr_w2_b").at("default").shape() == Shape{2, 8});
}

TEST_CASE("lokr rejects layer types PEFT does not support and leaves the model unchanged") {
  for (const char* spec :
       {R"({"type": "Embedding", "num_embeddings": 5, "embedding_dim": 3})",
        R"({"type": "transformers.Conv1D", "in_features": 3, "out_features": 4})"}) {
    CAPTURE(spec);
    auto base = test::one_layer(spec);
    const nn::ModulePtr before = base->find_child("m");
    CHECK_THROWS_WITH_AS(
        get_peft_model(base, test::lycoris_config<LoKrConfig>({"m"})),
        doctest::Contains("only adapters for Conv2d, Conv1d, Linear"),
        ValueError);
    CHECK(base->find_child("m") == before);
  }
}

TEST_CASE("lokr has no mixed-adapter batches (adapter_names is LoRA's)") {
  auto model = get_peft_model(test::make_mlp(0), test::lycoris_config<LoKrConfig>({"lin0"}));
  model->eval();
  CHECK_THROWS_WITH_AS(
      model->forward(randn({2, 16}), AdapterNames{"default", "__base__"}),
      doctest::Contains("only supported by LoRA"),
      ValueError);
}

TEST_CASE("lokr on a transformers T5 model targets q and v by default and merges exactly") {
  const fs::path dir = test::golden_dir() / "models" / "t5_conditional_generation";
  if (test::golden_dir().empty() || !fs::is_directory(dir)) {
    MESSAGE("golden T5 model not found; skipped");
    return;
  }
  const TensorMap in = load_safetensors((dir / "inputs.safetensors").string());
  models::ModelInputs inputs;
  inputs.input_ids = in.at("input_ids");
  inputs.attention_mask = in.at("attention_mask");
  inputs.decoder_input_ids = in.at("decoder_input_ids");
  auto cfg = std::make_unique<LoKrConfig>();  // target_modules None: the t5 defaults
  cfg->r = 2;
  cfg->init_weights = false;
  auto model = get_peft_model(models::from_pretrained(dir), std::move(cfg));
  model->eval();
  const auto& targeted = model->base_model().targeted_module_names();
  REQUIRE_FALSE(targeted.empty());
  for (const std::string& k : targeted) CHECK((k.ends_with(".q") || k.ends_with(".v")));
  NoGradGuard g;
  const Tensor y = model->forward(inputs).logits;
  nn::ModulePtr merged = model->merge_and_unload();
  const Tensor ym =
      std::dynamic_pointer_cast<models::PreTrainedModel>(merged)->forward(inputs).logits;
  CHECK(test::max_diff(ym, y) < 1e-4);
}
