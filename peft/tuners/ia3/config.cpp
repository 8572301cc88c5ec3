// IA3Config fields and __post_init__ (peft/tuners/ia3/config.py @5d602fd).
#include "peft/tuners/ia3/config.h"

#include <algorithm>

#include "io/json/field_visitor.h"

namespace peftcpp {

using json_detail::FieldVisitor;

void IA3Config::visit_fields(FieldVisitor& v) {
  PeftConfig::visit_fields(v);
  v("target_modules", target_modules);
  v("exclude_modules", exclude_modules);
  v("feedforward_modules", feedforward_modules);
  v("fan_in_fan_out", fan_in_fan_out);
  v("modules_to_save", modules_to_save);
  v("init_ia3_weights", init_ia3_weights);
}

void IA3Config::normalize(FieldVisitor& v, const JsonObject* loaded) {
  PeftConfig::normalize(v, loaded);
  target_modules.deduplicate();
  exclude_modules.deduplicate();
  feedforward_modules.deduplicate();
}

void IA3Config::check(const FieldVisitor& v) const {
  PeftConfig::check(v);
  if (feedforward_modules.is_list() && target_modules.is_list()) {
    const auto& targets = target_modules.names();
    for (const std::string& m : feedforward_modules.names()) {
      if (std::find(targets.begin(), targets.end(), m) == targets.end()) {
        v.fail(
            "feedforward_modules",
            "must be a subset of target_modules; '" + m + "' is not in target_modules");
      }
    }
  }
}

}  // namespace peftcpp
