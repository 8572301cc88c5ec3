// BaseTuner: configs, adapters, freezing, merging / unloading and the state-dict hooks (port of
// BaseTuner and the module-level set_adapter / delete_adapter helpers in
// peft/tuners/tuners_utils.py @5d602fd); injection is in base_tuner_inject.cpp.
#include "peft/tuners/base_tuner.h"

#include <algorithm>
#include <iostream>
#include <set>

#include "models/model.h"
#include "peft/tuners/tuners_utils.h"
#include "peft/utils/auxiliary.h"
#include "peft/utils/trainable_modules.h"
#include "tensor/error.h"

namespace peftcpp {

BaseTuner::BaseTuner(nn::ModulePtr model) : model_(std::move(model)) {
  PEFTCPP_CHECK(model_ != nullptr, "[peft] the model to adapt is null");
  register_module("model", &model_);
}

nn::NamedModules BaseTuner::peft_model_children() {
  return {{"base_model", self_ptr()}};
}

PeftConfig& BaseTuner::peft_config(const std::string& adapter) const {
  for (const auto& [name, cfg] : configs_) {
    if (name == adapter)
      return *cfg;
  }
  std::string known;
  for (const auto& [name, cfg] : configs_) known += (known.empty() ? "'" : ", '") + name + "'";
  throw ValueError(detail::concat(
      "[peft] adapter '",
      adapter,
      "' does not exist (adapters: ",
      known.empty() ? std::string("none") : known,
      ")"));
}

bool BaseTuner::has_adapter(const std::string& adapter) const {
  for (const auto& [name, cfg] : configs_) {
    if (name == adapter)
      return true;
  }
  return false;
}

std::vector<std::string> BaseTuner::adapter_names() const {
  std::vector<std::string> out;
  for (const auto& [name, cfg] : configs_) out.push_back(name);
  return out;
}

const HfConfig* BaseTuner::model_config() const {
  if (auto* pm = dynamic_cast<models::PreTrainedModel*>(model_.get()))
    return &pm->config();
  return nullptr;
}

void BaseTuner::add_adapter(const std::string& adapter, std::unique_ptr<PeftConfig> config) {
  PEFTCPP_CHECK(config != nullptr, "[peft] add_adapter('", adapter, "'): null config");
  PEFTCPP_CHECK(!has_adapter(adapter), "[peft] adapter with name '", adapter, "' already exists");
  const bool first = configs_.empty();
  configs_.emplace_back(adapter, std::move(config));
  if (first)
    active_adapters_ = {adapter};
  try {
    inject_adapter(adapter);
  } catch (...) {
    configs_.pop_back();
    if (first)
      active_adapters_.clear();
    throw;
  }
}

void BaseTuner::mark_only_adapters_as_trainable(nn::Module& model) {
  const std::set<std::string> prefixes = tuner_state_dict_key_prefixes(model);
  std::set<std::string> aux;
  for (const auto& [name, m] : model.named_modules()) {
    if (dynamic_cast<AuxiliaryTrainingWrapper*>(m.get()) != nullptr)
      aux.insert(name);
  }
  for (auto& [n, p] : model.named_parameters()) {
    if (is_key_under_prefixes(n, prefixes) || is_key_under_prefixes(n, aux))
      continue;
    if (p.is_leaf())
      p.requires_grad_(false);
  }
  for (const std::string& a : active_adapters_) {
    const std::string bias = bias_of(peft_config(a));
    if (bias == "none")
      continue;
    if (bias == "all") {
      for (auto& [n, p] : model.named_parameters()) {
        if (n == "bias" || n.ends_with(".bias"))
          p.requires_grad_(true);
      }
    } else if (bias.ends_with("_only")) {
      for (const auto& [name, m] : model.named_modules()) {
        if (!is_tuner_layer(*m))
          continue;
        Tensor b = static_cast<BaseTunerLayer&>(*m).base_bias();
        if (b.defined())
          b.requires_grad_(true);
      }
    } else {
      throw ValueError(detail::concat("[peft] requested bias: ", bias, ", is not implemented"));
    }
  }
  for (const auto& [name, m] : model.named_modules()) {
    if (is_tuner_layer(*m))
      static_cast<BaseTunerLayer&>(*m).freeze_non_trainable_peft_weights();
  }
}

void BaseTuner::set_adapter(const AdapterNames& names, bool inference_mode) {
  set_auxiliary_adapter(*model_, names, inference_mode);
  for (const auto& [key, m] : model_->named_modules()) {
    if (!is_tuner_layer(*m))
      continue;
    auto& layer = static_cast<BaseTunerLayer&>(*m);
    if (layer.merged()) {
      std::cerr
          << "[peft] warning: adapter cannot be set when the model is merged; unmerging first\n";
      layer.unmerge();
    }
    layer.set_adapter(names, inference_mode);
  }
  active_adapters_ = names;
}

void BaseTuner::set_requires_grad(const AdapterNames& names, bool requires_grad) {
  for (const auto& [key, m] : model_->named_modules()) {
    if (auto* layer = dynamic_cast<BaseTunerLayer*>(m.get())) {
      layer->set_requires_grad(names, requires_grad);
    } else if (auto* w = dynamic_cast<AuxiliaryTrainingWrapper*>(m.get())) {
      w->set_requires_grad(names, requires_grad);
    }
  }
}

void BaseTuner::delete_adapter(const std::string& adapter) {
  peft_config(adapter);  // throws when unknown
  for (const auto& [key, m] : model_->named_modules()) {
    auto* layer = dynamic_cast<BaseTunerLayer*>(m.get());
    if (layer == nullptr)
      continue;
    const AdapterNames& merged = layer->merged_adapters();
    PEFTCPP_CHECK(
        std::find(merged.begin(), merged.end(), adapter) == merged.end(),
        "[peft] cannot delete adapter(s) ['",
        adapter,
        "'] while they are merged. "
        "Please unmerge them first.");
  }
  std::erase_if(configs_, [&](const auto& c) { return c.first == adapter; });
  std::optional<AdapterNames> new_active;
  const std::string pre = prefix();
  for (const auto& [key, m] : model_->named_modules()) {
    if (key.find(pre) != std::string::npos || !is_tuner_layer(*m))
      continue;
    auto& layer = static_cast<BaseTunerLayer&>(*m);
    layer.delete_adapter(adapter);
    if (!new_active)
      new_active = layer.active_adapters();
  }
  for (const auto& [key, m] : model_->named_modules()) {
    if (auto* w = dynamic_cast<AuxiliaryTrainingWrapper*>(m.get())) {
      w->delete_adapter(adapter, new_active.value_or(AdapterNames{}));
    }
  }
  active_adapters_ = new_active.value_or(AdapterNames{});
}

void BaseTuner::enable_adapter_layers() {
  for (const auto& [key, m] : model_->named_modules()) {
    if (auto* layer = dynamic_cast<BaseTunerLayer*>(m.get())) {
      layer->enable_adapters(true);
    } else if (auto* w = dynamic_cast<AuxiliaryTrainingWrapper*>(m.get())) {
      w->enable_adapters(true);
    }
  }
}

void BaseTuner::disable_adapter_layers() {
  for (const std::string& a : active_adapters_) {
    const std::string bias = bias_of(peft_config(a));
    if (bias != "none") {
      std::cerr << "[peft] warning: careful, disabling adapter layers with bias configured to be '"
                << bias << "' does not produce the same output as the base model would without "
                << "adaption\n";
    }
  }
  for (const auto& [key, m] : model_->named_modules()) {
    if (auto* layer = dynamic_cast<BaseTunerLayer*>(m.get())) {
      layer->enable_adapters(false);
    } else if (auto* w = dynamic_cast<AuxiliaryTrainingWrapper*>(m.get())) {
      w->enable_adapters(false);
    }
  }
}

void BaseTuner::merge_adapter(const std::optional<AdapterNames>& adapter_names, bool safe_merge) {
  check_merge_allowed();
  for (const auto& [key, m] : model_->named_modules()) {
    if (auto* layer = dynamic_cast<BaseTunerLayer*>(m.get()))
      layer->merge(safe_merge, adapter_names);
  }
}

void BaseTuner::unmerge_adapter() {
  for (const auto& [key, m] : model_->named_modules()) {
    if (auto* layer = dynamic_cast<BaseTunerLayer*>(m.get()))
      layer->unmerge();
  }
}

nn::ModulePtr BaseTuner::unload_and_optionally_merge(
    bool merge, bool safe_merge, const std::optional<AdapterNames>& names) {
  if (merge)
    check_merge_allowed();
  const nn::NamedModules named = model_->named_modules();
  std::set<std::string> tuner_layers;
  for (const auto& [key, m] : named) {
    if (dynamic_cast<BaseTunerLayer*>(m.get()) != nullptr)
      tuner_layers.insert(key);
  }
  for (const auto& [key, unused] : named) {
    if (key.empty())
      continue;
    const auto dot = key.rfind('.');
    if (is_key_under_prefixes(dot == std::string::npos ? "" : key.substr(0, dot), tuner_layers)) {
      continue;
    }
    nn::ModulePtr target;
    try {
      target = model_->get_submodule(key);
    } catch (const ValueError&) {
      continue;
    }
    if (auto* w = dynamic_cast<AuxiliaryTrainingWrapper*>(target.get())) {
      model_->replace_child(key, w->unload_and_optionally_merge_module(merge, safe_merge, names));
    } else if (auto* layer = dynamic_cast<BaseTunerLayer*>(target.get())) {
      model_->replace_child(
          key, layer->unload_and_optionally_merge_module(merge, safe_merge, names));
    }
  }
  return model_;
}

nn::ModulePtr BaseTuner::merge_and_unload(
    bool safe_merge, const std::optional<AdapterNames>& names) {
  return unload_and_optionally_merge(true, safe_merge, names);
}

nn::ModulePtr BaseTuner::unload() {
  return unload_and_optionally_merge(false, false, std::nullopt);
}

nn::StateDict BaseTuner::adapter_state_dict(
    nn::Module& root,
    const PeftConfig& config,
    const std::string& /*adapter*/,
    const nn::StateDict& state) const {
  nn::StateDict out = filter_state_dict_by_prefixes(state, tuner_state_dict_key_prefixes(root));
  const std::string bias = bias_of(config);
  if (bias == "all") {
    for (const auto& [k, v] : state) {
      if (k == "bias" || k.ends_with(".bias"))
        out.emplace(k, v);
    }
  } else if (bias.ends_with("_only")) {
    for (const auto& [name, m] : root.named_modules()) {
      if (dynamic_cast<BaseTunerLayer*>(m.get()) == nullptr)
        continue;
      const std::string key = name.empty() ? "base_layer.bias" : name + ".base_layer.bias";
      if (auto it = state.find(key); it != state.end())
        out.emplace(key, it->second);
    }
  }
  return out;
}

std::string BaseTuner::remove_adapter_name_from_key(
    const std::string& key, const std::string& adapter) const {
  return remove_adapter_name_from_state_dict_key(key, adapter);
}

nn::StateDict BaseTuner::remap_adapter_state_dict_for_load(
    nn::Module& root,
    const PeftConfig& /*config*/,
    const std::string& adapter,
    const nn::StateDict& state) const {
  const std::string peft_prefix = "base_model.model.";
  std::map<std::string, std::string> to_model;
  for (const auto& [model_key, v] : filter_state_dict_by_prefixes(
           root.state_dict(), tuner_state_dict_key_prefixes(root, adapter))) {
    const std::string ck = remove_adapter_name_from_key(model_key, adapter);
    to_model[ck] = model_key;
    if (!model_key.starts_with(peft_prefix))
      to_model[peft_prefix + ck] = model_key;
  }
  nn::StateDict out;
  for (const auto& [k, v] : state) {
    auto it = to_model.find(k);
    out[it != to_model.end() ? it->second : k] = v;
  }
  return out;
}

}  // namespace peftcpp
