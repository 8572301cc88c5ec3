// VeraConfig: port of peft/tuners/vera/config.py @5d602fd.
#pragma once

#include "peft/config.h"

namespace peftcpp {

class VeraConfig : public PeftConfig {
 public:
  static constexpr const char* kClassName = "VeraConfig";
  VeraConfig() : PeftConfig(PeftType::VERA) {}

  int r = 256;
  ModuleNames target_modules;
  std::int64_t projection_prng_key = 0;
  bool save_projection = true;
  double vera_dropout = 0.0;
  double d_initial = 0.1;
  bool fan_in_fan_out = false;
  std::string bias = "none";  ///< "none", "all" or "<method>_only"
  std::optional<std::vector<std::string>> modules_to_save;
  bool init_weights = true;
  LayerIndices layers_to_transform;
  ModuleNames layers_pattern;

  const char* class_name() const override {
    return kClassName;
  }
  std::unique_ptr<PeftConfig> clone() const override {
    return std::make_unique<VeraConfig>(*this);
  }

 protected:
  void visit_fields(json_detail::FieldVisitor& v) override;
  void normalize(json_detail::FieldVisitor& v, const JsonObject* loaded) override;
  void check(const json_detail::FieldVisitor& v) const override;
};

}  // namespace peftcpp
