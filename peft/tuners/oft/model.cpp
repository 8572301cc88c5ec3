// OFTModel (port of peft/tuners/oft/model.py and dispatch_default in peft/tuners/oft/layer.py
// @5d602fd).
#include "peft/tuners/oft/model.h"

#include <algorithm>
#include <iostream>

#include "nn/layers/conv.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "peft/utils/constants.h"
#include "tensor/error.h"

namespace peftcpp::oft {

TargetFields OFTModel::target_fields(PeftConfig& config) const {
  auto& c = config.as<OFTConfig>();
  TargetFields f;
  f.target_modules = &c.target_modules;
  f.exclude_modules = &c.exclude_modules;
  f.modules_to_save = &c.modules_to_save;
  f.layers_to_transform = &c.layers_to_transform;
  f.layers_pattern = &c.layers_pattern;
  return f;
}

std::string OFTModel::bias_of(const PeftConfig& config) const {
  return config.as<OFTConfig>().bias;
}

void OFTModel::check_new_adapter_config(const PeftConfig& config) const {
  config.validate();
  BaseTuner::check_new_adapter_config(config);
}

std::vector<std::string> OFTModel::default_target_modules(const std::string& model_type) const {
  return lora_default_target_modules(model_type);
}

std::shared_ptr<OFTLayer> create_new_module(
    OFTConfig& config,
    const std::string& adapter,
    const nn::ModulePtr& target,
    const std::string& target_name) {
  nn::ModulePtr base = target;
  if (auto* t = dynamic_cast<BaseTunerLayer*>(target.get()))
    base = t->get_base_layer();
  auto unary = std::dynamic_pointer_cast<nn::UnaryModule>(target);
  if (unary != nullptr) {
    if (dynamic_cast<nn::Conv2d*>(base.get()) != nullptr) {
      return std::make_shared<Conv2d>(unary, adapter, config, config.r, config.fan_in_fan_out);
    }
    if (dynamic_cast<nn::Linear*>(base.get()) != nullptr) {
      if (config.fan_in_fan_out) {
        std::cerr << "[oft] warning: fan_in_fan_out is set to True but the target module is "
                     "`torch.nn.Linear`. Setting fan_in_fan_out to False.\n";
        config.fan_in_fan_out = false;
      }
      return std::make_shared<Linear>(unary, adapter, config, config.r, false);
    }
    if (dynamic_cast<nn::Embedding*>(base.get()) != nullptr) {
      return std::make_shared<Embedding>(unary, adapter, config, config.r);
    }
  }
  throw ValueError(detail::concat(
      "[oft] target module ",
      target_name,
      " (",
      base->type_name(),
      ") is not supported. Currently, only the following modules are supported: "
      "`torch.nn.Linear`, `torch.nn.Conv2d`, `torch.nn.Embedding`."));
}

void OFTModel::create_and_replace(
    PeftConfig& config,
    const std::string& adapter,
    const nn::ModulePtr& target,
    const std::string& current_key,
    const std::optional<std::string>& parameter_name) {
  PEFTCPP_CHECK(!parameter_name, "[oft] OFT cannot target nn.Parameters (target_parameters)");
  auto& c = config.as<OFTConfig>();
  if (auto* existing = dynamic_cast<OFTLayer*>(target.get())) {
    existing->update_layer(adapter, c.r, c);
    record_updated_layer(existing);
    return;
  }
  std::shared_ptr<OFTLayer> layer = create_new_module(c, adapter, target, current_key);
  const AdapterNames& active = active_adapters();
  if (std::find(active.begin(), active.end(), adapter) == active.end())
    layer->requires_grad_(false);
  replace_module(current_key, layer);
}

nn::StateDict OFTModel::remap_adapter_state_dict_for_load(
    nn::Module& root,
    const PeftConfig& config,
    const std::string& adapter,
    const nn::StateDict& state) const {
  nn::StateDict out = BaseTuner::remap_adapter_state_dict_for_load(root, config, adapter, state);
  for (const auto& [k, v] : out) {
    if (k.find(".oft_r.") != std::string::npos) {
      throw ValueError(detail::concat(
          "[oft] trying to load an old OFT checkpoint (key '",
          k,
          "'), which is no longer "
          "supported. Please install PEFT <= v0.15.2 to load it or train a new OFT adapter."));
    }
  }
  return out;
}

std::shared_ptr<BaseTuner> make_oft_model(nn::ModulePtr model) {
  return std::make_shared<OFTModel>(std::move(model));
}

}  // namespace peftcpp::oft
