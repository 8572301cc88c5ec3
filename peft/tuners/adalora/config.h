// AdaLoraConfig: port of peft/tuners/adalora/config.py @5d602fd. Extends LoraConfig; its
// rank_pattern defaults to null and, after training, holds {module: [bool mask per rank]}.
#pragma once

#include "peft/tuners/lora/config.h"

namespace peftcpp {

class AdaLoraConfig : public LoraConfig {
 public:
  static constexpr const char* kClassName = "AdaLoraConfig";
  AdaLoraConfig() : LoraConfig(PeftType::ADALORA) {
    rank_pattern = Json();
  }

  int target_r = 8;
  int init_r = 12;
  int tinit = 0;
  int tfinal = 0;
  int deltaT = 1;
  double beta1 = 0.85;
  double beta2 = 0.85;
  double orth_reg_weight = 0.5;
  std::optional<int> total_step;

  const char* class_name() const override {
    return kClassName;
  }
  std::unique_ptr<PeftConfig> clone() const override {
    return std::make_unique<AdaLoraConfig>(*this);
  }

 protected:
  void visit_fields(json_detail::FieldVisitor& v) override;
  void normalize(json_detail::FieldVisitor& v, const JsonObject* loaded) override;
  void check(const json_detail::FieldVisitor& v) const override;
};

}  // namespace peftcpp
