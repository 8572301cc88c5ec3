// LycorisConfig fields and the __post_init__ shared by LoHa and LoKr.
#include "peft/tuners/lycoris_config.h"

#include "io/json/field_visitor.h"
#include "peft/config_checks.h"

namespace peftcpp {

using json_detail::FieldVisitor;

void LycorisConfig::visit_fields(FieldVisitor& v) {
  PeftConfig::visit_fields(v);
  v("rank_pattern", rank_pattern, config_checks::null_or_object);
  v("alpha_pattern", alpha_pattern, config_checks::null_or_object);
  v("r", r, json_detail::positive());
  v("alpha", alpha);
  v("rank_dropout", rank_dropout, json_detail::in_range(0.0, 1.0));
  v("module_dropout", module_dropout, json_detail::in_range(0.0, 1.0));
  v("use_effective_conv2d", use_effective_conv2d);
  v("target_modules", target_modules);
  v("exclude_modules", exclude_modules);
  v("layers_to_transform", layers_to_transform);
  v("layers_pattern", layers_pattern);
  v("modules_to_save", modules_to_save);
}

void LycorisConfig::normalize(FieldVisitor& v, const JsonObject* loaded) {
  PeftConfig::normalize(v, loaded);
  target_modules.deduplicate();
  exclude_modules.deduplicate();
}

void LycorisConfig::check(const FieldVisitor& v) const {
  PeftConfig::check(v);
  config_checks::check_layers_pattern(v, layers_pattern, layers_to_transform);
}

}  // namespace peftcpp
