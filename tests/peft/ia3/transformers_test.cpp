// (IA)^3 on a transformers model (the golden T5): per-architecture defaults, identity init and
// merging through the model's forward.
#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "models/model.h"
#include "tests/peft/golden_dir.h"
#include "tests/peft/ia3/ia3_test_util.h"

using namespace peftcpp;

namespace {

models::ModelInputs t5_inputs() {
  models::ModelInputs in;
  in.input_ids = tensor<std::int64_t>({5, 9, 17, 1, 4, 4, 30, 1}, {2, 4});
  in.decoder_input_ids = tensor<std::int64_t>({0, 7, 3, 0, 11, 2}, {2, 3});
  return in;
}

}  // namespace

TEST_CASE("IA3 on T5 uses PEFT's defaults: k, v, wo with wo feed-forward") {
  const auto dir = test::golden_dir() / "models" / "t5_conditional_generation";
  if (test::golden_dir().empty() || !std::filesystem::exists(dir / "config.json")) {
    MESSAGE("golden T5 not found; skipped");
    return;
  }
  NoGradGuard g;
  auto base = models::from_pretrained(dir);
  base->eval();
  const Tensor y_base =
      std::dynamic_pointer_cast<models::PreTrainedModel>(base)->forward(t5_inputs()).logits;
  auto cfg = std::make_unique<IA3Config>();
  cfg->task_type = TaskType::SEQ_2_SEQ_LM;
  auto model = get_peft_model(base, std::move(cfg));
  model->eval();
  const auto& c = model->peft_config("default").as<IA3Config>();
  CHECK(c.target_modules.names() == std::vector<std::string>{"k", "v", "wo"});
  CHECK(c.feedforward_modules.names() == std::vector<std::string>{"wo"});
  // 2 encoder blocks (k, v, wo) + 2 decoder blocks (self k, v; cross k, v; wo)
  const auto& targeted = model->base_model().targeted_module_names();
  CHECK(targeted.size() == 16);
  for (const std::string& name : targeted) {
    auto l = test::ia3_layer(*model, name);
    REQUIRE(l != nullptr);
    CHECK(l->is_feedforward == name.ends_with("wo"));
  }
  // ones: the output is the base model's
  CHECK(test::max_diff(model->forward(t5_inputs()).logits, y_base) < 1e-5);
  // random vectors change it; merging reproduces the adapted output
  for (const std::string& name : targeted) {
    Tensor& v = test::ia3_layer(*model, name)->ia3_l().at("default");
    v.copy_(randn(v.shape()) * 0.3 + 1.0);
  }
  const Tensor y = model->forward(t5_inputs()).logits;
  CHECK(test::max_diff(y, y_base) > 1e-3);
  auto merged = std::dynamic_pointer_cast<models::PreTrainedModel>(model->merge_and_unload());
  REQUIRE(merged != nullptr);
  CHECK(test::max_diff(merged->forward(t5_inputs()).logits, y) < 1e-4);
}
