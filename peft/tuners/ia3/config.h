// IA3Config: port of peft/tuners/ia3/config.py @5d602fd.
#pragma once

#include "peft/config.h"

namespace peftcpp {

class IA3Config : public PeftConfig {
 public:
  static constexpr const char* kClassName = "IA3Config";
  IA3Config() : PeftConfig(PeftType::IA3) {}

  ModuleNames target_modules;
  ModuleNames exclude_modules;
  /// Modules whose input (not output) is scaled; must be a subset of target_modules.
  ModuleNames feedforward_modules;
  bool fan_in_fan_out = false;
  std::optional<std::vector<std::string>> modules_to_save;
  bool init_ia3_weights = true;

  const char* class_name() const override {
    return kClassName;
  }
  std::unique_ptr<PeftConfig> clone() const override {
    return std::make_unique<IA3Config>(*this);
  }

 protected:
  void visit_fields(json_detail::FieldVisitor& v) override;
  void normalize(json_detail::FieldVisitor& v, const JsonObject* loaded) override;
  void check(const json_detail::FieldVisitor& v) const override;
};

}  // namespace peftcpp
