// PromptTuningConfig fields and __post_init__ (peft/tuners/prompt_tuning/config.py @5d602fd).
#include "peft/tuners/prompt_tuning/config.h"

#include "io/json/field_visitor.h"
#include "peft/config_checks.h"

namespace peftcpp {

using json_detail::FieldVisitor;

void PromptTuningConfig::visit_fields(FieldVisitor& v) {
  PromptLearningConfig::visit_fields(v);
  v("prompt_tuning_init",
    prompt_tuning_init,
    json_detail::one_of({"TEXT", "SAMPLE_VOCAB", "RANDOM"}));
  v("prompt_tuning_init_text", prompt_tuning_init_text);
  v("tokenizer_name_or_path", tokenizer_name_or_path);
  v("tokenizer_kwargs", tokenizer_kwargs, config_checks::null_or_object);
}

void PromptTuningConfig::check(const FieldVisitor& v) const {
  PromptLearningConfig::check(v);
  const bool text = prompt_tuning_init == "TEXT";
  if (text && (!tokenizer_name_or_path || tokenizer_name_or_path->empty())) {
    v.fail("tokenizer_name_or_path", "must be given when prompt_tuning_init is 'TEXT'");
  }
  if (text && !prompt_tuning_init_text) {
    v.fail("prompt_tuning_init_text", "must be given when prompt_tuning_init is 'TEXT'");
  }
  if (config_checks::truthy(tokenizer_kwargs) && !text) {
    v.fail("tokenizer_kwargs", "is only valid when prompt_tuning_init is 'TEXT'");
  }
}

}  // namespace peftcpp
