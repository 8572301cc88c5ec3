// PromptEncoderConfig fields (peft/tuners/p_tuning/config.py @5d602fd).
#include "peft/tuners/p_tuning/config.h"

#include "io/json/field_visitor.h"

namespace peftcpp {

void PromptEncoderConfig::visit_fields(json_detail::FieldVisitor& v) {
  PromptLearningConfig::visit_fields(v);
  v("encoder_reparameterization_type",
    encoder_reparameterization_type,
    json_detail::one_of({"MLP", "LSTM"}));
  v("encoder_hidden_size", encoder_hidden_size, json_detail::positive());
  v("encoder_num_layers", encoder_num_layers, json_detail::positive());
  v("encoder_dropout", encoder_dropout, json_detail::in_range(0.0, 1.0));
}

}  // namespace peftcpp
