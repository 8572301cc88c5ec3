// VeRA on a transformers model (the golden T5): default target modules, projection sizes,
// identity init and merging through the model's forward.
#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "models/model.h"
#include "tests/peft/golden_dir.h"
#include "tests/peft/vera/vera_test_util.h"

using namespace peftcpp;

TEST_CASE("VeRA on T5 targets q and v, with projections sized by them") {
  const auto dir = test::golden_dir() / "models" / "t5_conditional_generation";
  if (test::golden_dir().empty() || !std::filesystem::exists(dir / "config.json")) {
    MESSAGE("golden T5 not found; skipped");
    return;
  }
  NoGradGuard g;
  auto base = models::from_pretrained(dir);
  base->eval();
  models::ModelInputs in;
  in.input_ids = tensor<std::int64_t>({5, 9, 17, 1, 4, 4, 30, 1}, {2, 4});
  in.decoder_input_ids = tensor<std::int64_t>({0, 7, 3, 0, 11, 2}, {2, 3});
  const Tensor y_base =
      std::dynamic_pointer_cast<models::PreTrainedModel>(base)->forward(in).logits;
  auto cfg = std::make_unique<VeraConfig>();
  cfg->task_type = TaskType::SEQ_2_SEQ_LM;
  cfg->r = 16;
  auto model = get_peft_model(base, std::move(cfg));
  model->eval();
  CHECK(
      model->peft_config("default").as<VeraConfig>().target_modules.names() ==
      std::vector<std::string>{"q", "v"});
  // 2 encoder blocks (q, v) + 2 decoder blocks (self q, v; cross q, v)
  CHECK(model->base_model().targeted_module_names().size() == 12);
  // q / v of this T5 are 32 -> 32 (d_model 32, 4 heads x d_kv 8)
  CHECK(test::vera_tuner(*model).vera_A()->at("default").shape() == Shape{16, 32});
  CHECK(test::vera_tuner(*model).vera_B()->at("default").shape() == Shape{32, 16});
  CHECK(test::max_diff(model->forward(in).logits, y_base) < 1e-5);  // lambda_b = 0
  for (const std::string& name : model->base_model().targeted_module_names()) {
    test::vera_layer(*model, name)->vera_lambda_b().at("default").copy_(randn({32}));
  }
  const Tensor y = model->forward(in).logits;
  CHECK(test::max_diff(y, y_base) > 1e-3);
  auto merged = std::dynamic_pointer_cast<models::PreTrainedModel>(model->merge_and_unload());
  REQUIRE(merged != nullptr);
  CHECK(test::max_diff(merged->forward(in).logits, y) < 1e-4);
}
