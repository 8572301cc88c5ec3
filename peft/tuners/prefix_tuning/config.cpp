// PrefixTuningConfig fields (peft/tuners/prefix_tuning/config.py @5d602fd).
#include "peft/tuners/prefix_tuning/config.h"

#include "io/json/field_visitor.h"

namespace peftcpp {

void PrefixTuningConfig::visit_fields(json_detail::FieldVisitor& v) {
  PromptLearningConfig::visit_fields(v);
  v("init_weights", init_weights, json_detail::one_of({"zero"}));
  v("encoder_hidden_size", encoder_hidden_size, json_detail::positive());
  v("prefix_projection", prefix_projection);
}

}  // namespace peftcpp
