// VeraConfig fields and __post_init__ (peft/tuners/vera/config.py @5d602fd).
#include "peft/tuners/vera/config.h"

#include "io/json/field_visitor.h"
#include "peft/config_checks.h"

namespace peftcpp {

using json_detail::FieldVisitor;

void VeraConfig::visit_fields(FieldVisitor& v) {
  PeftConfig::visit_fields(v);
  v("r", r, json_detail::positive());
  v("target_modules", target_modules);
  v("projection_prng_key", projection_prng_key);
  v("save_projection", save_projection);
  v("vera_dropout", vera_dropout, json_detail::in_range(0.0, 1.0));
  v("d_initial", d_initial);
  v("fan_in_fan_out", fan_in_fan_out);
  v("bias", bias, config_checks::bias_value);
  v("modules_to_save", modules_to_save);
  v("init_weights", init_weights);
  v("layers_to_transform", layers_to_transform);
  v("layers_pattern", layers_pattern);
}

void VeraConfig::normalize(FieldVisitor& v, const JsonObject* loaded) {
  PeftConfig::normalize(v, loaded);
  target_modules.deduplicate();
  if (!save_projection) {
    v.warn(
        "save_projection",
        "is false: vera_A/vera_B are not saved and will be regenerated from "
        "projection_prng_key, which may differ across systems");
  }
}

void VeraConfig::check(const FieldVisitor& v) const {
  PeftConfig::check(v);
  config_checks::check_layers_pattern(v, layers_pattern, layers_to_transform);
}

}  // namespace peftcpp
