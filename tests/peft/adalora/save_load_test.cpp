// Saving and loading AdaLoRA adapters: byte-identical round trips of PEFT's golden adapter
// files, PEFT's tensor names (no ranknum), and adapters with a rank pattern: only the kept
// triplets are saved, rank_pattern loses the adapter name, and loading shrinks the layers while
// keeping the scaling of the initial rank.
#include <doctest/doctest.h>

#include <set>

#include "models/model.h"
#include "peft/peft_model.h"
#include "tests/io/json/tmp_dir.h"
#include "tests/peft/adalora/adalora_test_util.h"
#include "tests/peft/golden_dir.h"

using namespace peftcpp;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> adalora_cases() {
  std::vector<fs::path> out;
  for (const fs::path& meta : test::golden_files("peft", "meta.json")) {
    if (Json::parse_file(meta).at("method").as_string() == "ADALORA")
      out.push_back(meta.parent_path());
  }
  return out;
}

nn::ModulePtr base_of(const fs::path& dir) {
  const Json meta = golden::read_meta(dir);
  const Json* kind = meta.at("base_model").find("kind");
  if (kind != nullptr && kind->as_string() == "transformers")
    return models::from_pretrained(dir);
  return test::golden_base(dir);
}

std::set<std::string> keys_of(const fs::path& file) {
  std::set<std::string> out;
  for (const auto& [k, v] : load_safetensors(file.string())) out.insert(k);
  return out;
}

}  // namespace

TEST_CASE("golden AdaLoRA adapters save back byte for byte") {
  const auto cases = adalora_cases();
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

TEST_CASE("a saved AdaLoRA adapter has PEFT's keys, no ranknum, and reloads with the same output") {
  auto model = get_peft_model(test::make_mlp(6), test::adalora_config({"lin0", "lin1"}, 3));
  model->eval();
  const Tensor x = randn({2, 16});
  const Tensor y = model->forward(x);
  test::TmpDir tmp;
  model->save_pretrained(tmp.path());
  const std::string p = "base_model.model.";
  CHECK(
      keys_of(tmp.path() / "adapter_model.safetensors") == std::set<std::string>{
                                                               p + "lin0.lora_A",
                                                               p + "lin0.lora_B",
                                                               p + "lin0.lora_E",
                                                               p + "lin1.lora_A",
                                                               p + "lin1.lora_B",
                                                               p + "lin1.lora_E"});
  const Json cfg = Json::parse_file(tmp.path() / "adapter_config.json");
  CHECK(cfg.at("peft_type").as_string() == "ADALORA");
  CHECK(cfg.at("rank_pattern").is_null());
  auto again = PeftModel::from_pretrained(test::make_mlp(6), tmp.path(), "other");
  CHECK(test::max_diff(again->forward(x), y) == 0.0);
  CHECK(test::ada_layer(*again, "lin0")->ranknum().at("other").item<double>() == 3.0);
}

TEST_CASE(
    "after rank allocation only the kept triplets are saved, and loading shrinks the layers") {
  auto cfg = test::adalora_config({"lin0", "lin1"}, 4, 1, 4);
  cfg->tfinal = 1;
  auto model = get_peft_model(test::make_mlp(8), std::move(cfg));
  model->eval();
  manual_seed(9);
  const Tensor x = randn({3, 16});
  const Tensor w = randn({3, 8});
  for (std::int64_t step = 0; step <= 3; ++step) {
    model->zero_grad();
    test::tuner(*model).add_regularization(sum(model->forward(x) * w)).backward();
    test::tuner(*model).update_and_allocate(step);
  }
  auto& config = model->peft_config("default").as<AdaLoraConfig>();
  REQUIRE(config.rank_pattern.is_object());
  CHECK(
      config.rank_pattern.as_object().keys() ==
      std::vector<std::string>{"lin0.lora_E.default", "lin1.lora_E.default"});
  std::map<std::string, std::int64_t> kept;
  int total = 0;
  for (const auto& [k, v] : config.rank_pattern.as_object()) {
    for (const Json& b : v.as_array()) kept[k.substr(0, 4)] += b.as_bool() ? 1 : 0;
  }
  for (const auto& [k, n] : kept) total += static_cast<int>(n);
  CHECK(total == 2);  // target budget: target_r 1 * 2 layers
  const Tensor y = model->forward(x);

  test::TmpDir tmp;
  model->save_pretrained(tmp.path());
  // PEFT rewrites the in-memory pattern too
  CHECK(
      config.rank_pattern.as_object().keys() ==
      std::vector<std::string>{"lin0.lora_E", "lin1.lora_E"});
  const Json saved_cfg = Json::parse_file(tmp.path() / "adapter_config.json");
  CHECK(saved_cfg.at("rank_pattern") == config.rank_pattern);
  const TensorMap saved = load_safetensors((tmp.path() / "adapter_model.safetensors").string());
  for (const std::string layer : {"lin0", "lin1"}) {
    const std::string p = "base_model.model." + layer + ".";
    CHECK(saved.at(p + "lora_E").size(0) == kept[layer]);
    CHECK(saved.at(p + "lora_A").size(0) == kept[layer]);
    CHECK(saved.at(p + "lora_B").size(1) == kept[layer]);
    // the kept rows of lora_E, in order
    const auto e_all = test::values(test::ada_layer(*model, layer)->lora_E().at("default"));
    const JsonArray& keep = config.rank_pattern.at(layer + ".lora_E").as_array();
    std::vector<double> e_kept;
    for (std::size_t i = 0; i < keep.size(); ++i) {
      if (keep[i].as_bool())
        e_kept.push_back(e_all[i]);
    }
    CHECK(test::values(saved.at(p + "lora_E")) == e_kept);
  }

  auto again = PeftModel::from_pretrained(test::make_mlp(8), tmp.path());
  for (const std::string layer : {"lin0", "lin1"}) {
    auto l = test::ada_layer(*again, layer);
    CHECK(l->r.at("default") == kept[layer]);
    CHECK(l->lora_A().at("default").size(0) == kept[layer]);
    CHECK(l->ranknum().at("default").item<double>() == 4.0);  // scaling of the initial rank
  }
  CHECK(test::max_diff(again->forward(x), y) < 1e-6);
  // saving the reloaded adapter reproduces the files
  test::TmpDir tmp2;
  again->save_pretrained(tmp2.path());
  CHECK(
      test::read_text(tmp2.path() / "adapter_model.safetensors") ==
      test::read_text(tmp.path() / "adapter_model.safetensors"));
  CHECK(
      test::read_text(tmp2.path() / "adapter_config.json") ==
      test::read_text(tmp.path() / "adapter_config.json"));
}

TEST_CASE("a rank pattern that does not fit the adapter is an error naming the entry") {
  auto model = get_peft_model(test::make_mlp(), test::adalora_config({"lin0"}, 3));
  Json pattern = Json::object();
  pattern.as_object().set("lin0.lora_E", Json(JsonArray{true, false}));
  CHECK_THROWS_WITH_AS(
      test::tuner(*model).resize_modules_by_rank_pattern(pattern, "default"),
      "[adalora] rank_pattern['lin0.lora_E'] has 2 entries but the adapter has rank 3",
      ValueError);
  pattern.as_object().set("lin0.lora_E", Json(JsonArray{1, 0, 1}));
  CHECK_THROWS_AS(
      test::tuner(*model).resize_modules_by_rank_pattern(pattern, "default"), ValueError);
}
