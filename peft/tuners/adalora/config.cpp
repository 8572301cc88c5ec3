// AdaLoraConfig fields and __post_init__ (peft/tuners/adalora/config.py @5d602fd).
#include "peft/tuners/adalora/config.h"

#include "io/json/field_visitor.h"
#include "peft/config_checks.h"

namespace peftcpp {

using json_detail::FieldVisitor;

void AdaLoraConfig::visit_fields(FieldVisitor& v) {
  LoraConfig::visit_fields(v);
  // r = 0 is allowed for AdaLoRA layers (PEFT #1539): a budget or initial rank of 0 is valid
  v("target_r", target_r, json_detail::non_negative());
  v("init_r", init_r, json_detail::non_negative());
  v("tinit", tinit, json_detail::non_negative());
  v("tfinal", tfinal, json_detail::non_negative());
  v("deltaT", deltaT, json_detail::positive());
  v("beta1", beta1);
  v("beta2", beta2);
  v("orth_reg_weight", orth_reg_weight, json_detail::non_negative());
  v("total_step", total_step);
}

void AdaLoraConfig::normalize(FieldVisitor& v, const JsonObject* loaded) {
  LoraConfig::normalize(v, loaded);
  if (r != 8) {
    v.warn("r", "is not used by AdaLoRA and is ignored; set init_r for the initial rank");
  }
}

void AdaLoraConfig::check(const FieldVisitor& v) const {
  LoraConfig::check(v);
  if (use_dora) {
    v.fail("use_dora", "ADALORA does not support DoRA");
  }
  if (config_checks::truthy(loftq_config)) {
    v.fail("loftq_config", "ADALORA does not support LoftQ");
  }
  if (!total_step || *total_step <= 0) {
    v.fail("total_step", "must be given and > 0 for AdaLoRA");
  }
  if (tinit >= *total_step - tfinal) {
    v.fail(
        "tinit",
        "tinit=" + std::to_string(tinit) + ", tfinal=" + std::to_string(tfinal) +
            " and total_step=" + std::to_string(*total_step) +
            " leave no budgeting phase; decrease tinit/tfinal or increase total_step");
  }
}

}  // namespace peftcpp
