// BOFTConfig fields and __post_init__ (peft/tuners/boft/config.py @5d602fd).
#include "peft/tuners/boft/config.h"

#include "io/json/field_visitor.h"
#include "peft/config_checks.h"

namespace peftcpp {

using json_detail::FieldVisitor;

void BOFTConfig::visit_fields(FieldVisitor& v) {
  PeftConfig::visit_fields(v);
  v("boft_block_size", boft_block_size, json_detail::non_negative());
  v("boft_block_num", boft_block_num, json_detail::non_negative());
  v("boft_n_butterfly_factor", boft_n_butterfly_factor, json_detail::positive());
  v("target_modules", target_modules);
  v("exclude_modules", exclude_modules);
  v("boft_dropout", boft_dropout, json_detail::in_range(0.0, 1.0));
  v("fan_in_fan_out", fan_in_fan_out);
  v("bias", bias, config_checks::bias_value);
  v("modules_to_save", modules_to_save);
  v("init_weights", init_weights);
  v("layers_to_transform", layers_to_transform);
  v("layers_pattern", layers_pattern);
}

void BOFTConfig::normalize(FieldVisitor& v, const JsonObject* loaded) {
  PeftConfig::normalize(v, loaded);
  target_modules.deduplicate();
  exclude_modules.deduplicate();
}

void BOFTConfig::check(const FieldVisitor& v) const {
  PeftConfig::check(v);
  config_checks::check_layers_pattern(v, layers_pattern, layers_to_transform);
  if (boft_block_size == 0 && boft_block_num == 0) {
    v.fail(
        "boft_block_size", "either boft_block_size or boft_block_num must be non-zero; both are 0");
  }
  if (boft_block_size != 0 && boft_block_num != 0) {
    v.fail(
        "boft_block_size",
        "only one of boft_block_size (" + std::to_string(boft_block_size) +
            ") and boft_block_num (" + std::to_string(boft_block_num) +
            ") may be non-zero, because their product == in_features");
  }
}

}  // namespace peftcpp
