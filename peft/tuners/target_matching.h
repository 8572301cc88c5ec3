// Which modules an adapter targets: port of check_target_module_exists,
// _maybe_include_all_linear_layers (tuners_utils.py) and get_pattern_key (utils/other.py) of
// PEFT @5d602fd.
//
// Rules, in order (each one pinned by a test in tests/peft/core/target_matching_test.cpp):
//   1. exclude_modules: a string is a regex that must match the whole name; a list excludes an
//      exact name or a dotted suffix ("lin0" excludes "block.lin0", not "block.xlin0").
//   2. modules_to_save: a module named like an entry (as a dotted component sequence) is never a
//      target, so the trainable copy and the adapter cannot collide.
//   3. target_modules None with target_parameters set: no module is targeted.
//   4. target_modules as a string: regex full match of the whole name ("all-linear" is expanded
//      before matching into the names of every Linear / Conv1D except the output layer).
//   5. target_modules as a list: an exact name matches; otherwise a dotted suffix matches, and
//      then, when layers_to_transform is set, the layer index found in the name (the number after
//      `layers_pattern`, or after the first "<name>." component) must be one of them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "io/json/json.h"
#include "nn/module.h"
#include "peft/config_types.h"

namespace peftcpp {

/// Result of matching one module name (PEFT returns True / a match / False / _ExcludedModule).
enum class TargetMatch { NoMatch, Match, Excluded };

/// The config fields that decide targeting. Tuners point them at their config's members
/// (BaseTuner::target_fields); a null pointer means the method has no such field.
struct TargetFields {
  ModuleNames* target_modules = nullptr;
  ModuleNames* exclude_modules = nullptr;
  std::optional<std::vector<std::string>>* modules_to_save = nullptr;
  std::optional<std::vector<std::string>>* target_parameters = nullptr;
  LayerIndices* layers_to_transform = nullptr;
  ModuleNames* layers_pattern = nullptr;
  /// null, [ids] or {module: [ids]} (LoRA's trainable_token_indices).
  Json* trainable_token_indices = nullptr;
  /// LoRA's ensure_weight_tying.
  bool* ensure_weight_tying = nullptr;
};

/// PEFT's check_target_module_exists for the module named `key` (dotted, relative to the model).
TargetMatch check_target_module_exists(const TargetFields& fields, const std::string& key);

/// PEFT's _maybe_include_all_linear_layers: when target_modules is the string "all-linear" (any
/// case), replaces it by the sorted names of every nn::Linear / nn::Conv1D (and tuner layers
/// whose type name contains "Linear") of `model`, minus the output layer of transformers models
/// (models::PreTrainedModel::output_embeddings(), else for SEQ_CLS a `score` / `classifier`
/// child) and minus modules inside tuner layers. Custom models keep every linear layer, as PEFT.
void expand_all_linear(TargetFields& fields, nn::Module& model, bool seq_cls_task);

/// PEFT's _find_minimal_target_modules: the fewest dotted suffixes that still match every name of
/// `targets` and none of `others` (sorted); applied when a list has 20 or more entries.
std::vector<std::string> find_minimal_target_modules(
    const std::vector<std::string>& targets, const std::vector<std::string>& others);

/// PEFT's get_pattern_key: the first key k of `pattern_keys` with re.match(rf"(.*\.)?({k})$",
/// name), else `name` itself.
std::string get_pattern_key(const std::vector<std::string>& pattern_keys, const std::string& name);

/// `re.match(rf"(^|.*\.){m}($|\..*)", key)` for some m in `names` (modules_to_save matching).
bool matches_module_list_regex(const std::vector<std::string>& names, const std::string& key);

}  // namespace peftcpp
