// BOFT adapters on disk: PEFT's golden adapter files load and save back byte for byte, a saved
// adapter reloads with the same output, and every golden BOFT case passes the golden checker.
#include <doctest/doctest.h>

#include "peft/peft_model.h"
#include "tests/io/json/tmp_dir.h"
#include "tests/peft/oft/golden_cases.h"
#include "tests/peft/oft/oft_test_util.h"

using namespace peftcpp;
namespace fs = std::filesystem;

TEST_CASE("golden BOFT adapters save back byte for byte") {
  const auto cases = test::custom_golden_cases("BOFT");
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

TEST_CASE("a saved BOFT adapter reloads with the same output and file keys") {
  auto model =
      get_peft_model(test::make_model(test::kConvJson), test::boft_config({"conv2d", "lin0"}, 2));
  model->eval();
  const Tensor x = randn({2, 4, 5, 5});
  const Tensor y = model->forward(x);
  test::TmpDir tmp;
  model->save_pretrained(tmp.path());
  const TensorMap file = load_safetensors((tmp.path() / "adapter_model.safetensors").string());
  std::vector<std::string> keys;
  for (const auto& [k, v] : file) keys.push_back(k);
  CHECK(
      keys == std::vector<std::string>{
                  "base_model.model.conv2d.boft_R",
                  "base_model.model.conv2d.boft_s",
                  "base_model.model.lin0.boft_R",
                  "base_model.model.lin0.boft_s"});
  auto again = PeftModel::from_pretrained(test::make_model(test::kConvJson), tmp.path());
  CHECK(test::max_diff(again->forward(x), y) == 0.0);
}

TEST_CASE("every golden BOFT case passes or is skipped for a missing base model") {
  test::check_golden_group("BOFT");
}
