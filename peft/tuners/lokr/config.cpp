// LoKrConfig fields (peft/tuners/lokr/config.py @5d602fd); __post_init__ is LycorisConfig's.
#include "peft/tuners/lokr/config.h"

#include "io/json/field_visitor.h"

namespace peftcpp {

void LoKrConfig::visit_fields(json_detail::FieldVisitor& v) {
  LycorisConfig::visit_fields(v);
  v("decompose_both", decompose_both);
  v("decompose_factor", decompose_factor);
  v("rank_dropout_scale", rank_dropout_scale);
  v("init_weights", init_weights, [](const InitWeights& w) {
    return w.is_bool() || w == "lycoris"
               ? std::string()
               : "must be true, false or 'lycoris', got '" + w.name() + "'";
  });
}

}  // namespace peftcpp
