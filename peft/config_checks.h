// Private (not installed): checks shared by the typed PEFT configs' `check`/`normalize`.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "io/json/field_visitor.h"
#include "peft/config_types.h"

namespace peftcpp::config_checks {

using json_detail::FieldVisitor;

/// Python truthiness of a ModuleNames value (None, "" and [] are false).
inline bool truthy(const ModuleNames& m) {
  return m.is_string() ? !m.pattern().empty() : !m.names().empty();
}

/// Python truthiness of a Json value (null, false, 0, "", [] and {} are false).
bool truthy(const Json& j);

/// PEFT: "When `layers_pattern` is specified, `layers_to_transform` must also be specified."
void check_layers_pattern(
    const FieldVisitor& v,
    const ModuleNames& layers_pattern,
    const LayerIndices& layers_to_transform);

/// PEFT: layers_to_transform / layers_pattern need a list of target modules, not a regex string.
void check_regex_target_excludes_layers(
    const FieldVisitor& v,
    const ModuleNames& target_modules,
    const LayerIndices& layers_to_transform,
    const ModuleNames* layers_pattern);

/// "" when `j` is null or an object, else an error text (for use as a per-field check).
std::string null_or_object(const Json& j);
std::string must_be_object(const Json& j);

/// One key of a nested dataclass config given as a dict.
struct NestedField {
  const char* name;
  std::string (*check)(const Json& value);  ///< "" when valid
};

/// Validates a dict that PEFT turns into a dataclass (`Cls(**d)`): unknown keys are errors (as
/// Python's TypeError), each present value must pass its check. Null passes.
void check_nested(
    const FieldVisitor& v,
    std::string_view key,
    const Json& value,
    std::string_view dataclass,
    std::initializer_list<NestedField> fields);

/// BaseTuner accepts bias "none", "all" or any "<method>_only" (tuners_utils.py).
std::string bias_value(const std::string& bias);

// Value checks for NestedField.
std::string positive_int(const Json& j);
std::string positive_number(const Json& j);
std::string non_negative_number(const Json& j);
std::string any_number(const Json& j);
std::string any_bool(const Json& j);

}  // namespace peftcpp::config_checks
