// LycorisConfig: the base of LoHaConfig and LoKrConfig (peft/tuners/lycoris_utils.py @5d602fd),
// plus the fields both declare identically.
#pragma once

#include "peft/config.h"

namespace peftcpp {

class LycorisConfig : public PeftConfig {
 public:
  Json rank_pattern = Json::object();   ///< {module regex: rank}
  Json alpha_pattern = Json::object();  ///< {module regex: alpha}

  int r = 8;
  int alpha = 8;
  double rank_dropout = 0.0;
  double module_dropout = 0.0;
  bool use_effective_conv2d = false;
  ModuleNames target_modules;
  ModuleNames exclude_modules;
  LayerIndices layers_to_transform;
  ModuleNames layers_pattern;
  std::optional<std::vector<std::string>> modules_to_save;

 protected:
  using PeftConfig::PeftConfig;
  /// Visits rank_pattern/alpha_pattern and the shared fields (the subclass adds init_weights and
  /// its own fields).
  void visit_fields(json_detail::FieldVisitor& v) override;
  void normalize(json_detail::FieldVisitor& v, const JsonObject* loaded) override;
  void check(const json_detail::FieldVisitor& v) const override;
};

}  // namespace peftcpp
