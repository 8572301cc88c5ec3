// LoHaConfig: port of peft/tuners/loha/config.py @5d602fd (fields shared with LoKr are in
// LycorisConfig).
#pragma once

#include "peft/tuners/lycoris_config.h"

namespace peftcpp {

class LoHaConfig : public LycorisConfig {
 public:
  static constexpr const char* kClassName = "LoHaConfig";
  LoHaConfig() : LycorisConfig(PeftType::LOHA) {}

  bool init_weights = true;

  const char* class_name() const override {
    return kClassName;
  }
  std::unique_ptr<PeftConfig> clone() const override {
    return std::make_unique<LoHaConfig>(*this);
  }

 protected:
  void visit_fields(json_detail::FieldVisitor& v) override;
};

}  // namespace peftcpp
