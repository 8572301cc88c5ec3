// Saving and loading VeRA adapters: byte-identical round trips of PEFT's golden files, projections
// saved under PEFT's keys or regenerated from the PRNG key, and the golden VERA group.
#include <doctest/doctest.h>

#include <filesystem>

#include "io/golden/golden_case.h"
#include "peft/golden_check.h"
#include "peft/peft_model.h"
#include "tests/io/json/tmp_dir.h"
#include "tests/peft/golden_dir.h"
#include "tests/peft/vera/vera_test_util.h"

using namespace peftcpp;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> vera_cases(bool custom_only) {
  std::vector<fs::path> out;
  for (const fs::path& meta : test::golden_files("peft", "meta.json")) {
    const Json m = Json::parse_file(meta);
    const Json* kind = m.at("base_model").find("kind");
    const bool transformers = kind != nullptr && kind->as_string() == "transformers";
    if (m.at("method").as_string() == "VERA" && !(custom_only && transformers)) {
      out.push_back(meta.parent_path());
    }
  }
  return out;
}

nn::ModulePtr base_of(const fs::path& dir) {
  auto model = std::make_shared<peft::CustomModel>(golden::read_meta(dir).at("base_model"));
  nn::StateDict state;
  for (auto& [k, v] : load_safetensors((dir / "model.safetensors").string())) state.emplace(k, v);
  model->load_state_dict(state);
  return model;
}

}  // namespace

TEST_CASE("golden VeRA adapters save back byte for byte") {
  const auto cases = vera_cases(true);
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

TEST_CASE("a golden adapter without its projections reloads them from the PRNG key") {
  const auto cases = vera_cases(true);
  for (const fs::path& dir : cases) {
    CAPTURE(dir.filename().string());
    const Tensor x = load_safetensors((dir / "inputs.safetensors").string()).at("X");
    const Tensor want =
        load_safetensors((dir / "expected.safetensors").string()).at("output.adapter");
    // same adapter, projections dropped from the file, save_projection=false in the config
    test::TmpDir tmp;
    TensorMap weights = load_safetensors((dir / "adapter_model.safetensors").string());
    weights.erase("base_model.vera_A");
    weights.erase("base_model.vera_B");
    save_safetensors((tmp.path() / "adapter_model.safetensors").string(), weights);
    auto cfg = load_peft_config(dir);
    cfg->as<VeraConfig>().save_projection = false;
    cfg->save_pretrained(tmp.path());
    auto model = PeftModel::from_pretrained(base_of(dir), tmp.path());
    CHECK(test::max_diff(model->forward(x), want) < 1e-5);
    // and saving it again writes no projections
    test::TmpDir out;
    model->save_pretrained(out.path());
    const TensorMap saved = load_safetensors((out.path() / "adapter_model.safetensors").string());
    CHECK(saved.count("base_model.vera_A") == 0);
    CHECK(saved.size() == weights.size());
  }
}

TEST_CASE("save_projection=true needs the projections in the file") {
  auto model = get_peft_model(test::make_mlp(0), test::vera_config({"lin0"}));
  test::TmpDir tmp;
  model->save_pretrained(tmp.path());
  TensorMap weights = load_safetensors((tmp.path() / "adapter_model.safetensors").string());
  CHECK(weights.count("base_model.vera_A") == 1);
  CHECK(weights.count("base_model.model.lin0.vera_lambda_b") == 1);
  CHECK(weights.count("base_model.model.lin0.vera_lambda_d") == 1);
  CHECK(weights.size() == 4);
  weights.erase("base_model.vera_A");
  save_safetensors((tmp.path() / "adapter_model.safetensors").string(), weights);
  auto base = test::make_mlp(0);
  const nn::ModulePtr lin0 = base->find_child("lin0");
  CHECK_THROWS_WITH_AS(
      PeftModel::from_pretrained(base, tmp.path()),
      doctest::Contains("were not present"),
      ValueError);
  CHECK(base->find_child("lin0") == lin0);
}

TEST_CASE("a saved VeRA adapter reloads with the same output, also under another name") {
  auto model = get_peft_model(test::make_mlp(0), test::vera_config({"lin0", "lin1"}));
  model->eval();
  const Tensor x = randn({3, 16});
  const Tensor y = model->forward(x);
  test::TmpDir tmp;
  model->save_pretrained(tmp.path());
  auto again = PeftModel::from_pretrained(test::make_mlp(0), tmp.path());
  CHECK(test::max_diff(again->forward(x), y) == 0.0);
  auto other = get_peft_model(test::make_mlp(0), test::vera_config({"lin0", "lin1"}), "first");
  other->load_adapter(tmp.path(), "loaded");
  other->set_adapter("loaded");
  other->eval();
  CHECK(test::max_diff(other->forward(x), y) < 1e-6);
}

TEST_CASE("every golden VERA case passes or is skipped for a missing base model") {
  int passed = 0;
  for (const fs::path& dir : vera_cases(false)) {
    CAPTURE(dir.filename().string());
    golden::Verdict v;
    try {
      v = peft::check_golden_case(dir);
    } catch (const std::exception& e) {
      v = golden::Verdict::fail(e.what());
    }
    CHECK_MESSAGE(v.status != golden::Verdict::Status::Fail, v.message);
    if (v.status == golden::Verdict::Status::Skip) {
      CHECK_MESSAGE(v.message.find("model not implemented") != std::string::npos, v.message);
    }
    passed += v.status == golden::Verdict::Status::Pass ? 1 : 0;
  }
  MESSAGE(passed << " VERA golden cases passed");
}
