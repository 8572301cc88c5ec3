// LoKrConfig: port of peft/tuners/lokr/config.py @5d602fd (fields shared with LoHa are in
// LycorisConfig).
#pragma once

#include "peft/tuners/lycoris_config.h"

namespace peftcpp {

class LoKrConfig : public LycorisConfig {
 public:
  static constexpr const char* kClassName = "LoKrConfig";
  LoKrConfig() : LycorisConfig(PeftType::LOKR) {}

  bool decompose_both = false;
  int decompose_factor = -1;
  bool rank_dropout_scale = false;
  /// true, false or "lycoris".
  InitWeights init_weights = true;

  const char* class_name() const override {
    return kClassName;
  }
  std::unique_ptr<PeftConfig> clone() const override {
    return std::make_unique<LoKrConfig>(*this);
  }

 protected:
  void visit_fields(json_detail::FieldVisitor& v) override;
};

}  // namespace peftcpp
