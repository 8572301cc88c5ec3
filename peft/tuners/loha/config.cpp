// LoHaConfig fields (peft/tuners/loha/config.py @5d602fd); __post_init__ is LycorisConfig's.
#include "peft/tuners/loha/config.h"

#include "io/json/field_visitor.h"

namespace peftcpp {

void LoHaConfig::visit_fields(json_detail::FieldVisitor& v) {
  LycorisConfig::visit_fields(v);
  v("init_weights", init_weights);
}

}  // namespace peftcpp
