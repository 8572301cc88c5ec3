// Default target_modules of OFT and BOFT per transformers model_type:
// TRANSFORMERS_MODELS_TO_OFT_TARGET_MODULES_MAPPING and ..._BOFT_... in
// peft/utils/constants.py @5d602fd (both copies of LoRA's mapping). The one regex-valued entry
// (gemma4) is left out: BaseTuner's default_target_modules hook takes names only.
#pragma once

#include <string>
#include <vector>

namespace peftcpp::oft {

/// The module names for `model_type`, empty when PEFT has no default for it.
std::vector<std::string> default_target_modules_for(const std::string& model_type);

}  // namespace peftcpp::oft
