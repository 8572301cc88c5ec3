// get_peft_model (port of peft/mapping_func.py @5d602fd).
#include "peft/mapping.h"

#include <iostream>

#include "peft/tuners/registry.h"
#include "tensor/error.h"

namespace peftcpp {

std::shared_ptr<PeftModel> get_peft_model(
    nn::ModulePtr model, std::unique_ptr<PeftConfig> config, const std::string& adapter) {
  PEFTCPP_CHECK(model != nullptr, "[peft] get_peft_model: the model is null");
  PEFTCPP_CHECK(config != nullptr, "[peft] get_peft_model: the config is null");
  const TunerEntry* entry = find_tuner(config->peft_type());
  PEFTCPP_CHECK(
      entry != nullptr,
      "[peft] ",
      peft_type_name(config->peft_type()),
      " not implemented (implemented methods: ",
      registered_tuners(),
      ")");
  if (std::string(entry->prefix).find(adapter) != std::string::npos) {
    std::cerr << "[peft] warning: adapter name '" << adapter << "' should not be contained in the "
              << "prefix '" << entry->prefix << "'\n";
  }
  config->post_init();
  return make_peft_model(std::move(model), std::move(config), adapter);
}

std::shared_ptr<PeftModel> get_peft_model(
    nn::ModulePtr model, const PeftConfig& config, const std::string& adapter) {
  return get_peft_model(std::move(model), config.clone(), adapter);
}

}  // namespace peftcpp
