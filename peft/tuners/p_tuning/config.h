// PromptEncoderConfig (P-tuning): port of peft/tuners/p_tuning/config.py @5d602fd.
#pragma once

#include "peft/config.h"

namespace peftcpp {

class PromptEncoderConfig : public PromptLearningConfig {
 public:
  static constexpr const char* kClassName = "PromptEncoderConfig";
  PromptEncoderConfig() : PromptLearningConfig(PeftType::P_TUNING) {}

  /// PEFT's PromptEncoderReparameterizationType: "MLP" or "LSTM".
  std::string encoder_reparameterization_type = "MLP";
  std::optional<int> encoder_hidden_size;
  int encoder_num_layers = 2;
  double encoder_dropout = 0.0;

  const char* class_name() const override {
    return kClassName;
  }
  std::unique_ptr<PeftConfig> clone() const override {
    return std::make_unique<PromptEncoderConfig>(*this);
  }

 protected:
  void visit_fields(json_detail::FieldVisitor& v) override;
};

}  // namespace peftcpp
