// BOFTModel (port of peft/tuners/boft/model.py @5d602fd).
#include "peft/tuners/boft/model.h"

#include <algorithm>
#include <iostream>

#include "nn/layers/conv.h"
#include "nn/layers/linear.h"
#include "peft/utils/constants.h"
#include "tensor/error.h"

namespace peftcpp::boft {

TargetFields BOFTModel::target_fields(PeftConfig& config) const {
  auto& c = config.as<BOFTConfig>();
  TargetFields f;
  f.target_modules = &c.target_modules;
  f.exclude_modules = &c.exclude_modules;
  f.modules_to_save = &c.modules_to_save;
  f.layers_to_transform = &c.layers_to_transform;
  f.layers_pattern = &c.layers_pattern;
  return f;
}

std::string BOFTModel::bias_of(const PeftConfig& config) const {
  return config.as<BOFTConfig>().bias;
}

void BOFTModel::check_new_adapter_config(const PeftConfig& config) const {
  config.validate();
  BaseTuner::check_new_adapter_config(config);
}

std::vector<std::string> BOFTModel::default_target_modules(const std::string& model_type) const {
  return lora_default_target_modules(model_type);
}

std::shared_ptr<BOFTLayer> create_new_module(
    BOFTConfig& config,
    const std::string& adapter,
    const nn::ModulePtr& target,
    const std::string& target_name) {
  nn::ModulePtr base = target;
  if (auto* t = dynamic_cast<BaseTunerLayer*>(target.get()))
    base = t->get_base_layer();
  auto unary = std::dynamic_pointer_cast<nn::UnaryModule>(target);
  if (unary != nullptr && dynamic_cast<nn::Linear*>(base.get()) != nullptr) {
    if (config.fan_in_fan_out) {
      std::cerr << "[boft] warning: fan_in_fan_out is set to True but the target module is "
                   "`torch.nn.Linear`. Setting fan_in_fan_out to False.\n";
      config.fan_in_fan_out = false;
    }
    return std::make_shared<Linear>(unary, adapter, config);
  }
  if (unary != nullptr && dynamic_cast<nn::Conv2d*>(base.get()) != nullptr) {
    return std::make_shared<Conv2d>(unary, adapter, config);
  }
  throw ValueError(detail::concat(
      "[boft] target module ",
      target_name,
      " (",
      base->type_name(),
      ") is not supported. Currently, only `torch.nn.Linear` and `torch.nn.Conv2d` are "
      "supported."));
}

void BOFTModel::create_and_replace(
    PeftConfig& config,
    const std::string& adapter,
    const nn::ModulePtr& target,
    const std::string& current_key,
    const std::optional<std::string>& parameter_name) {
  PEFTCPP_CHECK(!parameter_name, "[boft] BOFT cannot target nn.Parameters (target_parameters)");
  auto& c = config.as<BOFTConfig>();
  if (auto* existing = dynamic_cast<BOFTLayer*>(target.get())) {
    existing->update_layer(adapter, c);
    record_updated_layer(existing);
    return;
  }
  std::shared_ptr<BOFTLayer> layer = create_new_module(c, adapter, target, current_key);
  const AdapterNames& active = active_adapters();
  if (std::find(active.begin(), active.end(), adapter) == active.end())
    layer->requires_grad_(false);
  replace_module(current_key, layer);
}

std::shared_ptr<BaseTuner> make_boft_model(nn::ModulePtr model) {
  return std::make_shared<BOFTModel>(std::move(model));
}

}  // namespace peftcpp::boft
