// Saving and loading LoKr adapters: byte-identical round trips of PEFT's golden adapter files and
// a save / load cycle of an adapter created here.
#include <doctest/doctest.h>

#include "peft/peft_model.h"
#include "peft/tuners/lokr/config.h"
#include "tests/io/json/tmp_dir.h"
#include "tests/peft/lycoris/lycoris_test_util.h"

using namespace peftcpp;
namespace fs = std::filesystem;

TEST_CASE("golden LoKr adapters save back byte for byte") {
  const auto cases = test::custom_cases("LOKR");
  if (cases.empty()) {
    MESSAGE("golden data not found; skipped");
    return;
  }
  for (const fs::path& dir : cases) {
    CAPTURE(dir.filename().string());
    auto model = PeftModel::from_pretrained(test::golden_base(dir), dir);
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

TEST_CASE("a saved LoKr adapter has PEFT's keys and loads with the same output") {
  auto cfg = test::lycoris_config<LoKrConfig>({"m"}, 1);
  cfg->use_effective_conv2d = true;
  cfg->decompose_both = true;  // 16 = 4 * 4, 32 = 4 * 8: r = 1 < 4 / 2 decomposes w1
  cfg->rank_dropout_scale = true;
  auto model = get_peft_model(test::one_layer(test::conv2d_spec(16, 32, 3), 5), std::move(cfg));
  model->eval();
  const Tensor x = randn({1, 16, 5, 5});
  const Tensor y = model->forward(x);
  test::TmpDir tmp;
  model->save_pretrained(tmp.path());
  const TensorMap saved = load_safetensors((tmp.path() / "adapter_model.safetensors").string());
  std::set<std::string> keys;
  for (const auto& [k, v] : saved) keys.insert(k);
  const std::string p = "base_model.model.m.";
  CHECK(
      keys ==
      std::set<std::string>{
          p + "lokr_t2", p + "lokr_w1_a", p + "lokr_w1_b", p + "lokr_w2_a", p + "lokr_w2_b"});
  const Json cfg_json = Json::parse_file(tmp.path() / "adapter_config.json");
  CHECK(cfg_json.at("peft_type").as_string() == "LOKR");
  CHECK(cfg_json.at("decompose_both").as_bool());
  CHECK(cfg_json.at("rank_dropout_scale").as_bool());
  auto again =
      PeftModel::from_pretrained(test::one_layer(test::conv2d_spec(16, 32, 3), 5), tmp.path());
  CHECK(test::max_diff(again->forward(x), y) == 0.0);
}
