// OFTConfig: port of peft/tuners/oft/config.py @5d602fd. Exactly one of r and oft_block_size is
// non-zero (r * oft_block_size == in_features).
#pragma once

#include "peft/config.h"

namespace peftcpp {

class OFTConfig : public PeftConfig {
 public:
  static constexpr const char* kClassName = "OFTConfig";
  OFTConfig() : PeftConfig(PeftType::OFT) {}

  int r = 0;
  int oft_block_size = 32;
  double module_dropout = 0.0;
  ModuleNames target_modules;
  bool fan_in_fan_out = false;
  std::string bias = "none";  ///< "none", "all" or "oft_only"
  ModuleNames exclude_modules;
  bool init_weights = true;
  LayerIndices layers_to_transform;
  ModuleNames layers_pattern;
  std::optional<std::vector<std::string>> modules_to_save;
  bool coft = false;
  double eps = 6e-05;
  bool block_share = false;
  bool use_cayley_neumann = true;
  int num_cayley_neumann_terms = 5;

  const char* class_name() const override {
    return kClassName;
  }
  std::unique_ptr<PeftConfig> clone() const override {
    return std::make_unique<OFTConfig>(*this);
  }

 protected:
  void visit_fields(json_detail::FieldVisitor& v) override;
  void normalize(json_detail::FieldVisitor& v, const JsonObject* loaded) override;
  void check(const json_detail::FieldVisitor& v) const override;
};

}  // namespace peftcpp
