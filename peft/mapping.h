// get_peft_model (port of peft/mapping_func.py @5d602fd).
#pragma once

#include <memory>
#include <string>

#include "peft/peft_model_tasks.h"

namespace peftcpp {

/// Wraps `model` with a new adapter `adapter` built from `config` (the task class follows
/// config.task_type). `model` is changed in place: its targeted modules are replaced by tuner
/// layers and its own parameters frozen.
std::shared_ptr<PeftModel> get_peft_model(
    nn::ModulePtr model,
    std::unique_ptr<PeftConfig> config,
    const std::string& adapter = "default");
/// Same with a config that is copied.
std::shared_ptr<PeftModel> get_peft_model(
    nn::ModulePtr model, const PeftConfig& config, const std::string& adapter = "default");

}  // namespace peftcpp
