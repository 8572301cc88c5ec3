// PEFT method -> tuner: PEFT's PEFT_TYPE_TO_TUNER_MAPPING / PEFT_TYPE_TO_PREFIX_MAPPING, filled
// by `register_peft_method` at import time in Python, here an explicit table in registry.cpp
// (static self-registration would be dropped by the linker). The config side of each method is
// peft/config_load.cpp (peft_config_from_json). Adding a tuner: its folder under peft/tuners/
// and one line in registry.cpp.
#pragma once

#include <memory>
#include <string>

#include "nn/module.h"
#include "peft/peft_type.h"

namespace peftcpp {

class BaseTuner;

struct TunerEntry {
  PeftType type;
  /// Unique prefix of the method's tensors ("lora_").
  const char* prefix;
  /// Builds the tuner around `model` (adapters are added by BaseTuner::add_adapter).
  std::shared_ptr<BaseTuner> (*make)(nn::ModulePtr model);
};

/// The tuner of `type`, null when the method is not implemented.
const TunerEntry* find_tuner(PeftType type);
/// "LORA, ..." for error messages.
std::string registered_tuners();

}  // namespace peftcpp
