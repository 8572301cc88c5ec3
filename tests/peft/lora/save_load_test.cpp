// Saving and loading LoRA adapters: byte-identical round trips of PEFT's golden adapter files,
// loading into fresh models, and errors for adapters that do not fit the model.
#include <doctest/doctest.h>

#include <filesystem>

#include "io/golden/golden_case.h"
#include "io/json/hf_config.h"
#include "models/registry.h"
#include "nn/module.h"
#include "peft/golden/custom_models.h"
#include "peft/peft_model.h"
#include "tests/io/json/tmp_dir.h"
#include "tests/peft/golden_dir.h"
#include "tests/peft/peft_test_util.h"

using namespace peftcpp;
namespace fs = std::filesystem;

namespace {

bool is_transformers(const Json& meta) {
  const Json* kind = meta.at("base_model").find("kind");
  return kind != nullptr && kind->as_string() == "transformers";
}

// Golden LoRA cases whose base model can be built: custom models from meta.json, transformers
// models when their family is implemented.
std::vector<fs::path> buildable_lora_cases() {
  std::vector<fs::path> out;
  for (const fs::path& meta : test::golden_files("peft", "meta.json")) {
    const Json m = Json::parse_file(meta);
    if (m.at("method").as_string() != "LORA")
      continue;
    if (is_transformers(m)) {
      const auto cfg = load_hf_config(meta.parent_path() / "config.json");
      if (models::find_model_family(cfg->model_type()) == nullptr)
        continue;
    }
    out.push_back(meta.parent_path());
  }
  return out;
}

nn::ModulePtr base_of(const fs::path& dir) {
  const Json meta = golden::read_meta(dir);
  if (is_transformers(meta))
    return models::from_pretrained(dir);
  auto model = std::make_shared<peft::CustomModel>(meta.at("base_model"));
  nn::StateDict state;
  for (auto& [k, v] : load_safetensors((dir / "model.safetensors").string())) state.emplace(k, v);
  model->load_state_dict(state);
  return model;
}

}  // namespace

TEST_CASE("golden LoRA adapters save back byte for byte") {
  const auto cases = buildable_lora_cases();
  if (cases.empty()) {
    MESSAGE("golden data not found; skipped");
    return;
  }
  for (const fs::path& dir : cases) {
    CAPTURE(dir.filename().string());
    auto model = PeftModel::from_pretrained(base_of(dir), dir);
    test::TmpDir tmp;
    model->save_pretrained(tmp.path());
    CHECK(
        test::read_text(tmp.path() / "adapter_model.safetensors") ==
        test::read_text(dir / "adapter_model.safetensors"));
    CHECK(
        test::read_text(tmp.path() / "adapter_config.json") ==
        test::read_text(dir / "adapter_config.json"));
  }
}

TEST_CASE("a saved adapter loads into a fresh model with the same output") {
  auto model = get_peft_model(test::make_mlp(0), test::lora_config({"lin0", "lin1"}));
  model->eval();
  const Tensor x = randn({3, 16});
  const Tensor y = model->forward(x);
  test::TmpDir tmp;
  model->save_pretrained(tmp.path());
  auto again = PeftModel::from_pretrained(test::make_mlp(0), tmp.path());
  CHECK(test::max_diff(again->forward(x), y) == 0.0);
  // inference mode: nothing trains
  for (const auto& [n, p] : again->named_parameters()) CHECK_FALSE(p.requires_grad());
  const Json cfg = Json::parse_file(tmp.path() / "adapter_config.json");
  CHECK(cfg.at("inference_mode").as_bool());
  CHECK(cfg.at("auto_mapping").at("base_model_class").as_string() == "CustomModel");
}

TEST_CASE("non-default adapters are saved in a sub folder and load under another name") {
  auto model = get_peft_model(test::make_mlp(0), test::lora_config({"lin0"}));
  model->add_adapter("second", test::lora_config({"lin1"}, 2));
  test::TmpDir tmp;
  model->save_pretrained(tmp.path());
  CHECK(fs::exists(tmp.path() / "adapter_model.safetensors"));
  CHECK(fs::exists(tmp.path() / "second" / "adapter_model.safetensors"));
  const TensorMap saved =
      load_safetensors((tmp.path() / "second" / "adapter_model.safetensors").string());
  CHECK(saved.count("base_model.model.lin1.lora_A.weight") == 1);
  CHECK(saved.count("base_model.model.lin0.lora_A.weight") == 0);
  auto again = PeftModel::from_pretrained(test::make_mlp(0), tmp.path());
  again->load_adapter(tmp.path() / "second", "renamed");
  std::set<std::string> names;
  for (const auto& [n, p] : again->named_parameters()) names.insert(n);
  CHECK(names.count("base_model.model.lin1.lora_B.renamed.weight") == 1);
  const Tensor& got =
      again->get_base_model()->get_submodule("lin1.lora_A.renamed")->get_parameter("weight");
  CHECK(test::max_diff(got, saved.at("base_model.model.lin1.lora_A.weight")) == 0.0);
}

TEST_CASE("loading an adapter of another rank fails naming the tensor and both shapes") {
  auto model = get_peft_model(test::make_mlp(0), test::lora_config({"lin0"}, 4));
  test::TmpDir tmp;
  model->save_pretrained(tmp.path());
  // same target, other rank: rewrite the config only
  auto cfg = load_peft_config(tmp.path());
  cfg->as<LoraConfig>().r = 2;
  cfg->save_pretrained(tmp.path());
  auto base = test::make_mlp(0);
  const nn::ModulePtr lin0 = base->find_child("lin0");
  try {
    PeftModel::from_pretrained(base, tmp.path());
    FAIL("expected an error");
  } catch (const ValueError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("base_model.model.lin0.lora_A.default.weight") != std::string::npos);
    CHECK(msg.find("[4, 16]") != std::string::npos);
    CHECK(msg.find("[2, 16]") != std::string::npos);
  }
  // nothing half-applied: the base model has its own layer back
  CHECK(base->find_child("lin0") == lin0);
}

TEST_CASE("a failed load_adapter removes the new adapter again") {
  auto model = get_peft_model(test::make_mlp(0), test::lora_config({"lin0"}, 4));
  test::TmpDir tmp;
  model->save_pretrained(tmp.path());
  auto cfg = load_peft_config(tmp.path());
  cfg->as<LoraConfig>().r = 8;
  cfg->save_pretrained(tmp.path());
  CHECK_THROWS_WITH_AS(
      model->load_adapter(tmp.path(), "other"), doctest::Contains("size mismatch"), ValueError);
  CHECK(!model->base_model().has_adapter("other"));
  CHECK_FALSE(model->get_base_model()->get_submodule("lin0.lora_A")->has_child("other"));
}

TEST_CASE("a missing adapter file is an IoError naming the folder") {
  auto model = get_peft_model(test::make_mlp(0), test::lora_config({"lin0"}));
  test::TmpDir tmp;
  model->peft_config("default").save_pretrained(tmp.path());
  const std::string where = tmp.path().string();
  CHECK_THROWS_WITH_AS(
      model->load_adapter(tmp.path(), "x"), doctest::Contains(where.c_str()), IoError);
}
