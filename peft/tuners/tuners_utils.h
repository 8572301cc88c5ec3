// tuners_utils: the shared machinery of all PEFT methods (port of peft/tuners/tuners_utils.py
// @5d602fd, split by concern):
//   base_tuner_layer.h  BaseTunerLayer (adapter containers, active / merged / disabled state)
//   base_tuner.h        BaseTuner (inject_adapter, merge / unload, set / delete adapter)
//   target_matching.h   check_target_module_exists, "all-linear", rank/alpha pattern keys
//   adapter_dict.h      containers keyed by adapter name
// and, here, the structural state-dict helpers used for freezing and saving.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "nn/module.h"
#include "peft/tuners/adapter_dict.h"
#include "peft/tuners/base_tuner.h"
#include "peft/tuners/base_tuner_layer.h"
#include "peft/tuners/target_matching.h"

namespace peftcpp {

/// PEFT's _get_tuner_state_dict_key_prefixes: for every tuner layer of `root` (not inside an
/// auxiliary wrapper) and every BaseTuner, the name of each child / parameter / buffer except the
/// wrapped `base_layer` / `model`; with `adapter`, adapter containers contribute
/// "<name>.<adapter>" only when they hold it.
std::set<std::string> tuner_state_dict_key_prefixes(
    nn::Module& root, const std::optional<std::string>& adapter = {});

/// Whether `key` equals or lies below one of `prefixes` (on '.' boundaries).
bool is_key_under_prefixes(const std::string& key, const std::set<std::string>& prefixes);

/// Entries of `state` under `prefixes`.
nn::StateDict filter_state_dict_by_prefixes(
    const nn::StateDict& state, const std::set<std::string>& prefixes);

/// "x.lora_A.default.weight" -> "x.lora_A.weight"; "x.lora_embedding_A.default" ->
/// "x.lora_embedding_A" (PEFT's _remove_adapter_name_from_state_dict_key).
std::string remove_adapter_name_from_state_dict_key(
    const std::string& key, const std::string& adapter);

}  // namespace peftcpp
