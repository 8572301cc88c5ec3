// BOFTConfig: port of peft/tuners/boft/config.py @5d602fd. Exactly one of boft_block_size and
// boft_block_num is non-zero (boft_block_size * boft_block_num == in_features).
#pragma once

#include "peft/config.h"

namespace peftcpp {

class BOFTConfig : public PeftConfig {
 public:
  static constexpr const char* kClassName = "BOFTConfig";
  BOFTConfig() : PeftConfig(PeftType::BOFT) {}

  int boft_block_size = 4;
  int boft_block_num = 0;
  int boft_n_butterfly_factor = 1;
  ModuleNames target_modules;
  ModuleNames exclude_modules;
  double boft_dropout = 0.0;
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
    return std::make_unique<BOFTConfig>(*this);
  }

 protected:
  void visit_fields(json_detail::FieldVisitor& v) override;
  void normalize(json_detail::FieldVisitor& v, const JsonObject* loaded) override;
  void check(const json_detail::FieldVisitor& v) const override;
};

}  // namespace peftcpp
