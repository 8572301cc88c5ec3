// IA3Model (port of peft/tuners/ia3/model.py @5d602fd; bitsandbytes layers are not ported).
#include "peft/tuners/ia3/model.h"

#include <algorithm>
#include <iostream>

#include "nn/layers/conv.h"
#include "nn/layers/linear.h"
#include "peft/utils/regex.h"
#include "tensor/error.h"

namespace peftcpp::ia3 {

TargetFields IA3Model::target_fields(PeftConfig& config) const {
  auto& c = config.as<IA3Config>();
  TargetFields f;
  f.target_modules = &c.target_modules;
  f.exclude_modules = &c.exclude_modules;
  f.modules_to_save = &c.modules_to_save;
  return f;
}

void IA3Model::prepare_adapter_config(PeftConfig& config, const HfConfig* model_config) {
  auto& c = config.as<IA3Config>();
  // custom models have PEFT's dummy config {"model_type": "custom"}
  const std::string model_type =
      model_config != nullptr ? std::string(model_config->model_type()) : "custom";
  if (c.target_modules.is_none()) {
    const auto defaults = default_ia3_target_modules(model_type);
    PEFTCPP_CHECK(
        defaults.has_value(),
        "[ia3] Please specify `target_modules` in `peft_config` (no "
        "default for model type '",
        model_type,
        "')");
    c.target_modules = ModuleNames(*defaults);
  }
  if (c.feedforward_modules.is_none()) {
    const auto defaults = default_ia3_feedforward_modules(model_type);
    PEFTCPP_CHECK(
        defaults.has_value(),
        "[ia3] Please specify `feedforward_modules` in "
        "`peft_config` (no default for model type '",
        model_type,
        "')");
    c.feedforward_modules = ModuleNames(*defaults);
  }
}

bool is_feedforward_module(const IA3Config& config, const std::string& key) {
  const ModuleNames& ff = config.feedforward_modules;
  if (ff.is_string())
    return pyre::fullmatch(ff.pattern(), key, "feedforward_modules");
  // a plain suffix test, without a '.' boundary (PEFT's key.endswith(target_key))
  return std::any_of(
      ff.names().begin(), ff.names().end(), [&](const std::string& n) { return key.ends_with(n); });
}

std::shared_ptr<IA3Layer> create_new_module(
    IA3Config& config,
    const std::string& adapter,
    const nn::ModulePtr& target,
    bool is_feedforward) {
  nn::ModulePtr base = target;
  if (auto* t = dynamic_cast<BaseTunerLayer*>(target.get()))
    base = t->get_base_layer();
  auto unary = std::dynamic_pointer_cast<nn::UnaryModule>(target);
  if (unary != nullptr) {
    // PEFT tests the target itself (not its base layer) for convolutions
    if (dynamic_cast<nn::Conv2d*>(target.get()) != nullptr) {
      return std::make_shared<Conv2d>(unary, adapter, config, is_feedforward);
    }
    if (dynamic_cast<nn::Linear*>(base.get()) != nullptr) {
      if (config.fan_in_fan_out) {
        std::cerr << "[ia3] warning: fan_in_fan_out is set to True but the target module is "
                     "`torch.nn.Linear`. Setting fan_in_fan_out to False.\n";
        config.fan_in_fan_out = false;
      }
      return std::make_shared<Linear>(unary, adapter, config, is_feedforward);
    }
    if (dynamic_cast<nn::Conv1D*>(base.get()) != nullptr) {
      if (!config.fan_in_fan_out) {
        std::cerr << "[ia3] warning: fan_in_fan_out is set to False but the target module is "
                     "`Conv1D`. Setting fan_in_fan_out to True.\n";
        config.fan_in_fan_out = true;
      }
      return std::make_shared<Linear>(unary, adapter, config, is_feedforward, true);
    }
  }
  throw ValueError(detail::concat(
      "[ia3] Target module ",
      target->type_name(),
      " is not supported. "
      "Currently, only `torch.nn.Linear`, `torch.nn.Conv2d`, and `Conv1D` "
      "are supported."));
}

void IA3Model::create_and_replace(
    PeftConfig& config,
    const std::string& adapter,
    const nn::ModulePtr& target,
    const std::string& current_key,
    const std::optional<std::string>& /*parameter_name*/) {
  auto& c = config.as<IA3Config>();
  const bool feedforward = is_feedforward_module(c, current_key);
  if (auto* existing = dynamic_cast<IA3Layer*>(target.get())) {
    existing->update_layer(adapter, c);
    record_updated_layer(existing);
    return;
  }
  std::shared_ptr<IA3Layer> layer = create_new_module(c, adapter, target, feedforward);
  const AdapterNames& active = active_adapters();
  if (std::find(active.begin(), active.end(), adapter) == active.end())
    layer->requires_grad_(false);
  replace_module(current_key, layer);
}

void IA3Model::check_forward_adapter_names(const AdapterNames& /*names*/) const {
  throw ValueError(
      "[ia3] IA3Model does not support per-sample `adapter_names` (mixed-adapter "
      "batches are a LoRA feature)");
}

std::shared_ptr<BaseTuner> make_ia3_model(nn::ModulePtr model) {
  return std::make_shared<IA3Model>(std::move(model));
}

}  // namespace peftcpp::ia3
