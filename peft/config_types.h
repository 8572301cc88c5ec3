// Value types of PEFT config fields that are unions in Python:
//   ModuleNames  - Optional[Union[list[str], str]]  (target_modules, exclude_modules,
//   layers_pattern) LayerIndices - Optional[Union[list[int], int]]  (layers_to_transform)
//   InitWeights  - Union[bool, str]                  (init_lora_weights, LoKr's init_weights)
// plus their Json conversions (json_convert.h conventions).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "io/json/json.h"
#include "peft/peft_type.h"

namespace peftcpp {

/// None, a list of names, or one string (a regex for target_modules, or "all-linear").
/// `cfg.target_modules = {"q_proj", "v_proj"};` or `cfg.target_modules = ".*attn.*";`
class ModuleNames {
 public:
  ModuleNames() = default;
  ModuleNames(std::initializer_list<std::string> names) : kind_(Kind::List), names_(names) {}
  ModuleNames(std::vector<std::string> names) : kind_(Kind::List), names_(std::move(names)) {}
  ModuleNames(const char* pattern) : kind_(Kind::String), pattern_(pattern) {}
  ModuleNames(std::string pattern) : kind_(Kind::String), pattern_(std::move(pattern)) {}

  bool is_none() const {
    return kind_ == Kind::None;
  }
  bool is_list() const {
    return kind_ == Kind::List;
  }
  bool is_string() const {
    return kind_ == Kind::String;
  }
  /// The list (empty unless is_list()).
  const std::vector<std::string>& names() const {
    return names_;
  }
  /// The string (empty unless is_string()).
  const std::string& pattern() const {
    return pattern_;
  }
  /// Drops repeated names, keeping the first (PEFT turns the list into a set).
  void deduplicate();

  friend bool operator==(const ModuleNames&, const ModuleNames&) = default;

 private:
  enum class Kind : std::uint8_t { None, List, String };
  Kind kind_ = Kind::None;
  std::vector<std::string> names_;
  std::string pattern_;
};

/// None, one layer index (written as a scalar) or a list: PEFT's Optional[Union[list[int], int]]
/// (layers_to_transform). `cfg.layers_to_transform = {0, 2};` or `cfg.layers_to_transform = 1;`
class LayerIndices {
 public:
  LayerIndices() = default;
  LayerIndices(int layer) : kind_(Kind::Scalar), indices_{layer} {}
  LayerIndices(std::initializer_list<int> layers) : kind_(Kind::List), indices_(layers) {}
  LayerIndices(std::vector<int> layers) : kind_(Kind::List), indices_(std::move(layers)) {}

  bool is_none() const {
    return kind_ == Kind::None;
  }
  bool is_scalar() const {
    return kind_ == Kind::Scalar;
  }
  /// The indices (one for a scalar; empty for None).
  const std::vector<int>& indices() const {
    return indices_;
  }
  friend bool operator==(const LayerIndices&, const LayerIndices&) = default;

 private:
  enum class Kind : std::uint8_t { None, Scalar, List };
  Kind kind_ = Kind::None;
  std::vector<int> indices_;
};

/// A bool or a named initialisation ("gaussian", "pissa", "lycoris", ...).
class InitWeights {
 public:
  InitWeights(bool b = true) : is_bool_(true), bool_(b) {}
  InitWeights(const char* name) : is_bool_(false), name_(name) {}
  InitWeights(std::string name) : is_bool_(false), name_(std::move(name)) {}

  bool is_bool() const {
    return is_bool_;
  }
  bool is_string() const {
    return !is_bool_;
  }
  /// The bool (false unless is_bool()).
  bool as_bool() const {
    return is_bool_ && bool_;
  }
  /// The name (empty unless is_string()).
  const std::string& name() const {
    return name_;
  }
  bool operator==(bool b) const {
    return is_bool_ && bool_ == b;
  }
  bool operator==(std::string_view s) const {
    return !is_bool_ && name_ == s;
  }
  bool operator==(const char* s) const {
    return *this == std::string_view(s);
  }
  friend bool operator==(const InitWeights&, const InitWeights&) = default;

 private:
  bool is_bool_;
  bool bool_ = true;
  std::string name_;
};

void from_json(const Json& j, ModuleNames& out);
Json to_json(const ModuleNames& v);
void from_json(const Json& j, LayerIndices& out);
Json to_json(const LayerIndices& v);
void from_json(const Json& j, InitWeights& out);
Json to_json(const InitWeights& v);
void from_json(const Json& j, PeftType& out);
Json to_json(PeftType v);
void from_json(const Json& j, TaskType& out);
Json to_json(TaskType v);

}  // namespace peftcpp
