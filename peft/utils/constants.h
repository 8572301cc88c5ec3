// Per-architecture defaults of PEFT (port of peft/utils/constants.py @5d602fd).
#pragma once

#include <string>
#include <vector>

namespace peftcpp {

/// TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING (its name-list entries): the modules LoRA
/// targets when target_modules is None. PEFT's OFT, BOFT, LoHa and LoKr mappings are copies of
/// it. Empty for an unknown model_type.
const std::vector<std::string>& lora_default_target_modules(const std::string& model_type);

}  // namespace peftcpp
