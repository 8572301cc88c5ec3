// The golden checker's `peft` group: which cases run, and the verdict (steps in
// golden_check_steps.cpp).
#include "peft/golden_check.h"

#include "io/json/hf_config.h"
#include "models/registry.h"
#include "peft/golden_check_steps.h"
#include "peft/tuners/registry.h"

namespace peftcpp::peft {

golden::Verdict check_golden_case(const std::filesystem::path& case_dir) {
  const Json meta = golden::read_meta(case_dir);
  const std::string method = meta.at("method").as_string();
  const std::optional<PeftType> type = peft_type_from_name(method);
  if (!type || find_tuner(*type) == nullptr)
    return golden::Verdict::skip(method + " not implemented");
  const Json& base = meta.at("base_model");
  const Json* kind = base.find("kind");
  if (kind != nullptr && kind->is_string() && kind->as_string() == "transformers") {
    const std::unique_ptr<HfConfig> config = load_hf_config(case_dir / "config.json");
    if (models::find_model_family(config->model_type()) == nullptr) {
      return golden::Verdict::skip(std::string(config->model_type()) + " model not implemented");
    }
  }
  GoldenCase c(case_dir, meta);
  for (auto step :
       {&GoldenCase::check_base_and_adapter,
        &GoldenCase::check_merge,
        &GoldenCase::check_sgd,
        &GoldenCase::check_prompt_reload}) {
    std::string problem = (c.*step)();
    if (!problem.empty())
      return golden::Verdict::fail(problem);
  }
  return golden::Verdict::pass();
}

}  // namespace peftcpp::peft
