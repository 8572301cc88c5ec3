// PromptTuningConfig: port of peft/tuners/prompt_tuning/config.py @5d602fd.
#pragma once

#include <memory>

#include "peft/config.h"

namespace peftcpp {

class Tokenizer;

class PromptTuningConfig : public PromptLearningConfig {
 public:
  static constexpr const char* kClassName = "PromptTuningConfig";
  PromptTuningConfig() : PromptLearningConfig(PeftType::PROMPT_TUNING) {}

  /// PEFT's PromptTuningInit: "TEXT", "SAMPLE_VOCAB" or "RANDOM".
  std::string prompt_tuning_init = "RANDOM";
  std::optional<std::string> prompt_tuning_init_text;
  std::optional<std::string> tokenizer_name_or_path;
  Json tokenizer_kwargs;  ///< null or an object
  /// Not part of adapter_config.json: the tokenizer for "TEXT" init. When null it is loaded from
  /// tokenizer_name_or_path (a tokenizer.json file or a folder holding one); PEFT's validation
  /// still asks for tokenizer_name_or_path, so a saved config names it.
  std::shared_ptr<const Tokenizer> tokenizer;

  const char* class_name() const override {
    return kClassName;
  }
  std::unique_ptr<PeftConfig> clone() const override {
    return std::make_unique<PromptTuningConfig>(*this);
  }

 protected:
  explicit PromptTuningConfig(PeftType type) : PromptLearningConfig(type) {}
  void visit_fields(json_detail::FieldVisitor& v) override;
  void check(const json_detail::FieldVisitor& v) const override;
};

}  // namespace peftcpp
