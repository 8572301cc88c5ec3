// Checks shared by the typed PEFT configs.
#include "peft/config_checks.h"

namespace peftcpp::config_checks {

bool truthy(const Json& j) {
  switch (j.type()) {
    case Json::Type::Null:
      return false;
    case Json::Type::Bool:
      return j.as_bool();
    case Json::Type::Int:
      return j.as_int() != 0;
    case Json::Type::Float:
      return j.as_double() != 0.0;
    case Json::Type::String:
      return !j.as_string().empty();
    case Json::Type::Array:
    case Json::Type::Object:
      return j.size() != 0;
  }
  return false;
}

void check_layers_pattern(
    const FieldVisitor& v,
    const ModuleNames& layers_pattern,
    const LayerIndices& layers_to_transform) {
  if (truthy(layers_pattern) && layers_to_transform.is_none()) {
    v.fail("layers_pattern", "is set, so layers_to_transform must be set too");
  }
}

void check_regex_target_excludes_layers(
    const FieldVisitor& v,
    const ModuleNames& target_modules,
    const LayerIndices& layers_to_transform,
    const ModuleNames* layers_pattern) {
  if (!target_modules.is_string()) {
    return;
  }
  if (!layers_to_transform.is_none()) {
    v.fail("layers_to_transform", "cannot be used when target_modules is a string (regex)");
  }
  if (layers_pattern != nullptr && !layers_pattern->is_none()) {
    v.fail("layers_pattern", "cannot be used when target_modules is a string (regex)");
  }
}

std::string null_or_object(const Json& j) {
  if (j.is_null() || j.is_object()) {
    return {};
  }
  return std::string("must be null or an object, got ") + j.type_name();
}

std::string must_be_object(const Json& j) {
  if (j.is_object()) {
    return {};
  }
  return std::string("must be an object, got ") + j.type_name();
}

void check_nested(
    const FieldVisitor& v,
    std::string_view key,
    const Json& value,
    std::string_view dataclass,
    std::initializer_list<NestedField> fields) {
  if (value.is_null()) {
    return;
  }
  if (!value.is_object()) {
    v.fail(
        key,
        std::string("must be a ") + std::string(dataclass) + " dict or null, got " +
            value.type_name());
  }
  for (const auto& [k, j] : value.as_object()) {
    const NestedField* field = nullptr;
    for (const NestedField& f : fields) {
      if (k == f.name) {
        field = &f;
      }
    }
    if (field == nullptr) {
      std::string known;
      for (const NestedField& f : fields) {
        known += (known.empty() ? "" : ", ") + std::string(f.name);
      }
      v.fail(
          key,
          "unexpected key '" + k + "' for " + std::string(dataclass) + " (known: " + known + ")");
    }
    const std::string err = field->check(j);
    if (!err.empty()) {
      v.fail(std::string(key) + "." + k, err);
    }
  }
}

std::string bias_value(const std::string& bias) {
  if (bias == "none" || bias == "all" || bias.ends_with("_only")) {
    return {};
  }
  return "must be 'none', 'all' or '<method>_only', got '" + bias + "'";
}

std::string positive_int(const Json& j) {
  if (!j.is_int()) {
    return std::string("must be an int, got ") + j.type_name();
  }
  return j.as_int() > 0 ? std::string() : "must be > 0, got " + j.dump();
}

std::string positive_number(const Json& j) {
  if (!j.is_number()) {
    return std::string("must be a number, got ") + j.type_name();
  }
  return j.as_double() > 0 ? std::string() : "must be > 0, got " + j.dump();
}

std::string non_negative_number(const Json& j) {
  if (!j.is_number()) {
    return std::string("must be a number, got ") + j.type_name();
  }
  return j.as_double() >= 0 ? std::string() : "must be >= 0, got " + j.dump();
}

std::string any_number(const Json& j) {
  return j.is_number() ? std::string() : std::string("must be a number, got ") + j.type_name();
}

std::string any_bool(const Json& j) {
  return j.is_bool() ? std::string() : std::string("must be a bool, got ") + j.type_name();
}

}  // namespace peftcpp::config_checks
