// Per-architecture target_modules of VeRA (port of
// TRANSFORMERS_MODELS_TO_VERA_TARGET_MODULES_MAPPING in peft/utils/constants.py @5d602fd: LoRA's
// mapping with phi -> q_proj, v_proj).

#include "peft/tuners/vera/model.h"
#include "peft/utils/constants.h"

namespace peftcpp::vera {

ModuleNames default_vera_target_modules(const std::string& model_type) {
  // the one regex entry of the mapping
  if (model_type == "gemma4")
    return ModuleNames(R"(.*language_model\..*\.(q_proj|v_proj))");
  if (model_type == "phi") return ModuleNames(std::vector<std::string>{"q_proj", "v_proj"});
  const std::vector<std::string>& names = lora_default_target_modules(model_type);
  return names.empty() ? ModuleNames() : ModuleNames(names);
}

}  // namespace peftcpp::vera
