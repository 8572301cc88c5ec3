// Saving and loading (IA)^3 adapters: byte-identical round trips of PEFT's golden adapter files,
// PEFT's tensor names, reloading into fresh models, and the golden checker over every IA3 case.
#include <doctest/doctest.h>

#include <filesystem>

#include "io/golden/golden_case.h"
#include "peft/golden_check.h"
#include "peft/peft_model.h"
#include "tests/io/json/tmp_dir.h"
#include "tests/peft/golden_dir.h"
#include "tests/peft/ia3/ia3_test_util.h"

using namespace peftcpp;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> cases_of(const std::string& method, bool custom_only) {
  std::vector<fs::path> out;
  for (const fs::path& meta : test::golden_files("peft", "meta.json")) {
    const Json m = Json::parse_file(meta);
    const Json* kind = m.at("base_model").find("kind");
    const bool transformers = kind != nullptr && kind->as_string() == "transformers";
    if (m.at("method").as_string() == method && !(custom_only && transformers)) {
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

TEST_CASE("golden IA3 adapters save back byte for byte") {
  const auto cases = cases_of("IA3", true);
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

TEST_CASE("every golden IA3 case passes or is skipped for a missing base model") {
  int passed = 0;
  for (const fs::path& dir : cases_of("IA3", false)) {
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
  MESSAGE(passed << " IA3 golden cases passed");
}

TEST_CASE("a saved IA3 adapter uses PEFT's keys and reloads with the same output") {
  auto model = get_peft_model(test::make_mlp(0), test::ia3_config({"lin0", "lin1"}, {"lin1"}));
  model->eval();
  const Tensor x = randn({3, 16});
  const Tensor y = model->forward(x);
  test::TmpDir tmp;
  model->save_pretrained(tmp.path());
  const TensorMap saved = load_safetensors((tmp.path() / "adapter_model.safetensors").string());
  CHECK(saved.size() == 2);
  CHECK(saved.at("base_model.model.lin0.ia3_l").shape() == Shape{32, 1});
  CHECK(saved.at("base_model.model.lin1.ia3_l").shape() == Shape{1, 32});
  auto again = PeftModel::from_pretrained(test::make_mlp(0), tmp.path());
  CHECK(test::max_diff(again->forward(x), y) == 0.0);
  for (const auto& [n, p] : again->named_parameters()) CHECK_FALSE(p.requires_grad());
  // a second adapter goes to a sub folder and loads under another name
  model->add_adapter("second", test::ia3_config({"lin0"}));
  model->save_pretrained(tmp.path());
  again->load_adapter(tmp.path() / "second", "renamed");
  auto l0 = again->get_base_model()->get_submodule_as<ia3::IA3Layer>("lin0");
  CHECK(
      test::max_diff(
          l0->ia3_l().at("renamed"), test::ia3_layer(*model, "lin0")->ia3_l().at("second")) == 0.0);
}

TEST_CASE("loading an adapter whose vectors do not fit names the tensor and both shapes") {
  auto model = get_peft_model(test::make_mlp(0), test::ia3_config({"lin0"}));
  test::TmpDir tmp;
  model->save_pretrained(tmp.path());
  auto cfg = load_peft_config(tmp.path());
  cfg->as<IA3Config>().feedforward_modules = {"lin0"};  // [1, 16] instead of [32, 1]
  cfg->save_pretrained(tmp.path());
  auto base = test::make_mlp(0);
  const nn::ModulePtr lin0 = base->find_child("lin0");
  CHECK_THROWS_WITH_AS(
      PeftModel::from_pretrained(base, tmp.path()),
      doctest::Contains("base_model.model.lin0.ia3_l.default"),
      ValueError);
  CHECK(base->find_child("lin0") == lin0);
}
