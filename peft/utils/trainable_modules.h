// Wrapping extra trainable modules next to an adapter: port of _set_trainable, _set_adapter and
// set_additional_trainable_modules in peft/utils/other.py @5d602fd.
#pragma once

#include <string>
#include <vector>

#include "nn/module.h"
#include "peft/tuners/base_tuner_layer.h"
#include "peft/tuners/target_matching.h"

namespace peftcpp {

class TrainableTokensLayer;

/// Wraps every module of `model` whose name ends with one of `module_names` (a plain string
/// suffix, as PEFT) in a ModulesToSaveWrapper for `adapter` (or adds `adapter` to an existing
/// wrapper). strict: throws when nothing matched.
void set_modules_to_save(
    nn::Module& model,
    const std::string& adapter,
    const std::vector<std::string>& module_names,
    bool inference_mode,
    bool activate_adapter,
    bool strict = false);

/// Same for TrainableTokensWrapper with `token_indices` (always strict); with `tied` the wrapper
/// follows that token adapter (weights tied to the embedding).
void set_trainable_tokens(
    nn::Module& model,
    const std::string& adapter,
    const std::string& module_name,
    const std::vector<std::int64_t>& token_indices,
    bool inference_mode,
    bool activate_adapter,
    const std::shared_ptr<TrainableTokensLayer>& tied = nullptr);

/// PEFT's set_additional_trainable_modules: modules_to_save and trainable_token_indices of the
/// config (a list of ids targets the input embedding, `embed_tokens` when the model has none;
/// modules tied to the input embedding follow its token adapter).
void set_additional_trainable_modules(
    nn::Module& model,
    const TargetFields& fields,
    const std::string& adapter,
    bool inference_mode,
    bool activate_adapter);

/// PEFT's _set_adapter: activates `names` on every auxiliary wrapper of `model` (a wrapper with
/// none of them gets no active adapter).
void set_auxiliary_adapter(nn::Module& model, const AdapterNames& names, bool inference_mode);

}  // namespace peftcpp
