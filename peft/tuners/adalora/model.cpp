// AdaLoraModel: adapters and layer creation (port of AdaLoraModel.__init__,
// _check_new_adapter_config, _create_and_replace and _create_new_module in
// peft/tuners/adalora/model.py @5d602fd).
#include "peft/tuners/adalora/model.h"

#include <algorithm>
#include <iostream>
#include <map>

#include "nn/layers/conv.h"
#include "nn/layers/linear.h"
#include "tensor/error.h"

namespace peftcpp::adalora {

void AdaLoraModel::add_adapter(const std::string& adapter, std::unique_ptr<PeftConfig> config) {
  PEFTCPP_CHECK(config != nullptr, "[adalora] add_adapter('", adapter, "'): null config");
  const bool first = configs_.empty();
  if (first && !config->inference_mode) {
    // checked before injecting, so a bad config leaves the model untouched
    const auto& c = config->as<AdaLoraConfig>();
    PEFTCPP_CHECK(
        c.beta1 > 0 && c.beta1 < 1 && c.beta2 > 0 && c.beta2 < 1,
        "[adalora] beta1 and beta2 must lie in (0, 1), got beta1=",
        c.beta1,
        ", beta2=",
        c.beta2);
  }
  BaseTuner::add_adapter(adapter, std::move(config));
  if (!first)
    return;
  auto& c = peft_config(adapter).as<AdaLoraConfig>();
  if (c.inference_mode) {
    for (auto& [n, p] : model_->named_parameters()) {
      if (n.find(adapter) != std::string::npos && p.is_leaf())
        p.requires_grad_(false);
    }
    return;
  }
  trainable_adapter_ = adapter;
  rankallocator_ = std::make_unique<RankAllocator>(*model_, c, adapter);
}

void AdaLoraModel::check_new_adapter_config(const PeftConfig& config) const {
  lora::LoraModel::check_new_adapter_config(config);
  int trainable = 0;
  for (const auto& [name, cfg] : configs_) trainable += cfg->inference_mode ? 0 : 1;
  PEFTCPP_CHECK(
      trainable <= 1,
      "[adalora] AdaLoraModel supports only 1 trainable adapter. When using multiple adapters, "
      "set inference_mode to True for all adapters except the one you want to train.");
}

std::shared_ptr<AdaLoraLayer> create_new_module(
    AdaLoraConfig& config,
    const std::string& adapter,
    const nn::ModulePtr& target,
    const std::string& target_name) {
  nn::ModulePtr base = target;
  if (auto* t = dynamic_cast<BaseTunerLayer*>(target.get()))
    base = t->get_base_layer();
  auto unary = std::dynamic_pointer_cast<nn::UnaryModule>(target);
  if (unary != nullptr) {
    if (dynamic_cast<nn::Linear*>(base.get()) != nullptr) {
      if (config.fan_in_fan_out) {
        std::cerr << "[adalora] warning: fan_in_fan_out is set to True but the target module is "
                     "`torch.nn.Linear`. Setting fan_in_fan_out to False.\n";
        config.fan_in_fan_out = false;
      }
      return std::make_shared<SVDLinear>(unary, adapter, config, config.init_r, config.lora_alpha);
    }
    if (dynamic_cast<nn::Conv1D*>(base.get()) != nullptr) {
      if (!config.fan_in_fan_out) {
        std::cerr << "[adalora] warning: fan_in_fan_out is set to False but the target module is "
                     "`Conv1D`. Setting fan_in_fan_out to True.\n";
        config.fan_in_fan_out = true;
      }
      return std::make_shared<SVDLinear>(unary, adapter, config, config.init_r, config.lora_alpha);
    }
    if (dynamic_cast<nn::Conv2d*>(base.get()) != nullptr) {
      return std::make_shared<SVDConv2d>(unary, adapter, config, config.init_r, config.lora_alpha);
    }
  }
  throw ValueError(detail::concat(
      "[adalora] target module ",
      target_name,
      " (",
      base->type_name(),
      ") is not supported. Currently, only `torch.nn.Linear`, `Conv1D`, and `torch.nn.Conv2d` "
      "are supported."));
}

void AdaLoraModel::create_and_replace(
    PeftConfig& config,
    const std::string& adapter,
    const nn::ModulePtr& target,
    const std::string& current_key,
    const std::optional<std::string>& parameter_name) {
  PEFTCPP_CHECK(
      !parameter_name,
      "[adalora] target_parameters is not supported by AdaLoRA (parameter '",
      parameter_name.value_or(""),
      "' of ",
      current_key,
      ")");
  auto& c = config.as<AdaLoraConfig>();
  if (auto* existing = dynamic_cast<AdaLoraLayer*>(target.get())) {
    existing->update_layer(adapter, c.init_r, c.lora_alpha, c);
    record_updated_layer(existing);
    return;
  }
  std::shared_ptr<AdaLoraLayer> layer = create_new_module(c, adapter, target, current_key);
  const AdapterNames& active = active_adapters();
  if (std::find(active.begin(), active.end(), adapter) == active.end())
    layer->requires_grad_(false);
  replace_module(current_key, layer);
}

void AdaLoraModel::check_forward_adapter_names(const AdapterNames& /*names*/) const {
  throw ValueError(
      "[adalora] AdaLoRA layers do not support per-sample `adapter_names` (mixed adapter "
      "batches); use set_adapter instead");
}

std::vector<std::string> AdaLoraModel::default_target_modules(const std::string& model_type) const {
  // TRANSFORMERS_MODELS_TO_ADALORA_TARGET_MODULES_MAPPING (utils/constants.py); gemma4's regex
  // entry is left out (no such family here).
  static const std::map<std::string, std::vector<std::string>> kDefaults = {
      {"t5", {"q", "k", "v", "o", "wi", "wo"}},
      {"mt5", {"q", "k", "v", "o", "wi_0", "wi_1", "wo"}},
      {"bart", {"q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"}},
      {"gpt2", {"c_attn"}},
      {"bloom", {"query_key_value"}},
      {"opt", {"q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"}},
      {"gptj", {"q_proj", "v_proj"}},
      {"gpt_neox", {"query_key_value"}},
      {"gpt_neo", {"q_proj", "v_proj"}},
      {"llama", {"q_proj", "v_proj"}},
      {"llama4", {"q_proj", "v_proj"}},
      {"bert", {"query", "value"}},
      {"roberta", {"query", "key", "value", "dense"}},
      {"deberta-v2", {"query_proj", "key_proj", "value_proj", "dense"}},
      {"gpt_bigcode", {"c_attn"}},
      {"deberta", {"in_proj"}},
      {"gemma", {"q_proj", "v_proj"}},
      {"gemma2", {"q_proj", "v_proj"}},
      {"gemma3_text", {"q_proj", "v_proj"}},
      {"qwen2", {"q_proj", "v_proj"}},
      {"qwen3", {"q_proj", "v_proj"}},
      {"nemotron_h", {"q_proj", "k_proj", "v_proj", "o_proj"}},
  };
  auto it = kDefaults.find(model_type);
  return it == kDefaults.end() ? std::vector<std::string>{} : it->second;
}

std::shared_ptr<BaseTuner> make_adalora_model(nn::ModulePtr model) {
  return std::make_shared<AdaLoraModel>(std::move(model));
}

}  // namespace peftcpp::adalora
