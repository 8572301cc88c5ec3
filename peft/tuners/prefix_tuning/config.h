// PrefixTuningConfig: port of peft/tuners/prefix_tuning/config.py @5d602fd.
#pragma once

#include "peft/config.h"

namespace peftcpp {

class PrefixTuningConfig : public PromptLearningConfig {
 public:
  static constexpr const char* kClassName = "PrefixTuningConfig";
  PrefixTuningConfig() : PromptLearningConfig(PeftType::PREFIX_TUNING) {}

  /// null (random) or "zero".
  std::optional<std::string> init_weights;
  std::optional<int> encoder_hidden_size;
  bool prefix_projection = false;

  const char* class_name() const override {
    return kClassName;
  }
  std::unique_ptr<PeftConfig> clone() const override {
    return std::make_unique<PrefixTuningConfig>(*this);
  }

 protected:
  void visit_fields(json_detail::FieldVisitor& v) override;
};

}  // namespace peftcpp
