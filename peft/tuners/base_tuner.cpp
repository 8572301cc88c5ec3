// BaseTuner: adapters, injection and unloading (port of BaseTuner and the module-level
// set_adapter / delete_adapter helpers in peft/tuners/tuners_utils.py @5d602fd).
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
namespace {

std::string module_names_text(const ModuleNames& m) {
  if (m.is_none()) return "None";
  if (m.is_string()) return "'" + m.pattern() + "'";
  std::string s = "{";
  for (std::size_t i = 0; i < m.names().size(); ++i) s += (i ? ", '" : "'") + m.names()[i] + "'";
  return s + "}";
}

std::string layer_notes(const TargetFields& f) {
  std::string s;
  if (f.layers_to_transform != nullptr && !f.layers_to_transform->is_none()) {
    s += " Note: You specified 'layers_to_transform': [";
    for (std::size_t i = 0; i < f.layers_to_transform->indices().size(); ++i) {
      s += (i ? ", " : "") + std::to_string(f.layers_to_transform->indices()[i]);
    }
    s += "].";
  }
  if (f.layers_pattern != nullptr && !f.layers_pattern->is_none()) {
    s += " You also specified 'layers_pattern': " + module_names_text(*f.layers_pattern) + ".";
  }
  return s;
}

// Names of the modules that hold parameters themselves (what target_modules usually names).
std::string candidate_names(nn::Module& model) {
  std::string s;
  int n = 0;
  for (const auto& [name, m] : model.named_modules()) {
    if (name.empty() || m->named_parameters("", false).empty()) continue;
    if (n == 30) {
      s += ", ...";
      break;
    }
    s += (n++ ? ", " : "") + name;
  }
  return s.empty() ? std::string("(none)") : s;
}

std::string strip_base_layer(std::string name) {
  const std::string tag = ".base_layer";
  for (auto pos = name.rfind(tag); pos != std::string::npos; pos = name.rfind(tag)) {
    name.erase(pos, tag.size());
  }
  return name;
}

}  // namespace

BaseTuner::BaseTuner(nn::ModulePtr model) : model_(std::move(model)) {
  PEFTCPP_CHECK(model_ != nullptr, "[peft] the model to adapt is null");
  register_module("model", &model_);
}

nn::NamedModules BaseTuner::peft_model_children() {
  return {{"base_model", self_ptr()}};
}

PeftConfig& BaseTuner::peft_config(const std::string& adapter) const {
  for (const auto& [name, cfg] : configs_) {
    if (name == adapter) return *cfg;
  }
  std::string known;
  for (const auto& [name, cfg] : configs_) known += (known.empty() ? "'" : ", '") + name + "'";
  throw ValueError(detail::concat("[peft] adapter '", adapter, "' does not exist (adapters: ",
                                  known.empty() ? std::string("none") : known, ")"));
}

bool BaseTuner::has_adapter(const std::string& adapter) const {
  for (const auto& [name, cfg] : configs_) {
    if (name == adapter) return true;
  }
  return false;
}

std::vector<std::string> BaseTuner::adapter_names() const {
  std::vector<std::string> out;
  for (const auto& [name, cfg] : configs_) out.push_back(name);
  return out;
}

const HfConfig* BaseTuner::model_config() const {
  if (auto* pm = dynamic_cast<models::PreTrainedModel*>(model_.get())) return &pm->config();
  return nullptr;
}

void BaseTuner::add_adapter(const std::string& adapter, std::unique_ptr<PeftConfig> config) {
  PEFTCPP_CHECK(config != nullptr, "[peft] add_adapter('", adapter, "'): null config");
  PEFTCPP_CHECK(!has_adapter(adapter), "[peft] adapter with name '", adapter, "' already exists");
  const bool first = configs_.empty();
  configs_.emplace_back(adapter, std::move(config));
  if (first) active_adapters_ = {adapter};
  try {
    inject_adapter(adapter);
  } catch (...) {
    configs_.pop_back();
    if (first) active_adapters_.clear();
    throw;
  }
}

void BaseTuner::replace_module(const std::string& key, const nn::ModulePtr& new_module) {
  nn::ModulePtr old = model_->replace_child(key, new_module);
  if (current_injection_ != nullptr) current_injection_->replaced.emplace_back(key, old);
}

void BaseTuner::record_updated_layer(BaseTunerLayer* layer) {
  if (current_injection_ != nullptr) current_injection_->updated.push_back(layer);
}

void BaseTuner::inject_adapter(const std::string& adapter) {
  Injection record;
  current_injection_ = &record;
  // Modules as they are now, to undo auxiliary wrapping on failure.
  const nn::NamedModules before = model_->named_modules();
  try {
    inject_adapter_impl(adapter, record);
  } catch (...) {
    current_injection_ = nullptr;
    for (const auto& [key, m] : model_->named_modules()) {
      if (auto* w = dynamic_cast<AuxiliaryTrainingWrapper*>(m.get()); w && w->adapters().count(adapter)) {
        w->delete_adapter(adapter, w->active_adapters());
      }
    }
    roll_back(adapter, record);
    for (const auto& [key, m] : before) {
      if (key.empty()) continue;
      nn::ModulePtr now;
      try {
        now = model_->get_submodule(key);
      } catch (const ValueError&) {
        continue;
      }
      if (now != m) model_->replace_child(key, m);
    }
    throw;
  }
  current_injection_ = nullptr;
}

void BaseTuner::roll_back(const std::string& adapter, Injection& record) {
  for (BaseTunerLayer* layer : record.updated) layer->delete_adapter(adapter);
  for (auto it = record.replaced.rbegin(); it != record.replaced.rend(); ++it) {
    model_->replace_child(it->first, it->second);
  }
}

void BaseTuner::inject_adapter_impl(const std::string& adapter, Injection& /*record*/) {
  PeftConfig& cfg = peft_config(adapter);
  check_new_adapter_config(cfg);
  prepare_adapter_config(cfg, model_config());
  prepare_model(cfg, *model_);
  TargetFields f = target_fields(cfg);
  expand_all_linear(f, *model_, cfg.task_type == TaskType::SEQ_CLS);

  const nn::NamedModules named = model_->named_modules();
  std::vector<std::string> existing_prefixes;
  for (const auto& [key, m] : named) {
    if (dynamic_cast<BaseTunerLayer*>(m.get()) != nullptr) existing_prefixes.push_back(key + ".");
  }
  std::vector<std::string> excluded, unmatched, targeted, targeted_params;
  for (const auto& [key, m] : named) {
    if (key.empty()) continue;
    bool inside = false;
    for (const std::string& p : existing_prefixes) inside = inside || key.starts_with(p);
    if (inside) continue;
    const TargetMatch r = check_target_module_exists(cfg, key);
    if (r == TargetMatch::Excluded) {
      excluded.push_back(key);
    } else if (r == TargetMatch::NoMatch) {
      unmatched.push_back(key);
    } else {
      targeted.push_back(key);
      create_and_replace(cfg, adapter, model_->get_submodule(key), key, std::nullopt);
    }
  }
  if (uses_target_parameters(cfg)) targeted_params = inject_parameters(cfg, adapter);

  const bool no_targets = f.target_modules == nullptr || f.target_modules->is_none() ||
                          (f.target_modules->is_list() && f.target_modules->names().empty()) ||
                          (f.target_modules->is_string() && f.target_modules->pattern().empty());
  if (targeted.empty() && targeted_params.empty()) {
    if (!excluded.empty() && unmatched.empty()) {
      throw ValueError(
          "[peft] All modules were excluded. This is likely unintended. Check your "
          "`target_modules`, `exclude_modules` and `modules_to_save` configuration.");
    }
    if (excluded.empty() && !unmatched.empty() && no_targets) {
      throw ValueError(
          "[peft] No `target_modules` passed but also no `target_parameters` found. Please check "
          "the values for these arguments.");
    }
    if (excluded.empty() && !unmatched.empty()) {
      throw ValueError(detail::concat(
          "[peft] Target modules ", module_names_text(*f.target_modules),
          " not found in the base model. Please check the target modules and try again.",
          layer_notes(f), " Candidate module names: ", candidate_names(*model_), "."));
    }
    throw ValueError(detail::concat(
        "[peft] No modules were targeted for adaptation. This might be caused by a combination of "
        "mismatched target modules and excluded modules. Please check your `target_modules` and "
        "`exclude_modules` configuration. You may also have only targeted modules that are "
        "marked to be saved (`modules_to_save`).",
        layer_notes(f), " Candidate module names: ", candidate_names(*model_), "."));
  }
  if (f.exclude_modules != nullptr && !f.exclude_modules->is_none() && excluded.empty()) {
    std::cerr << "[peft] warning: you have passed exclude_modules=" << module_names_text(*f.exclude_modules)
              << " but no modules were excluded\n";
  }
  for (const std::string& k : targeted) {
    if (std::find(targeted_module_names_.begin(), targeted_module_names_.end(), k) ==
        targeted_module_names_.end()) {
      targeted_module_names_.push_back(k);
    }
  }
  for (const std::string& k : targeted_params) {
    if (std::find(targeted_parameter_names_.begin(), targeted_parameter_names_.end(), k) ==
        targeted_parameter_names_.end()) {
      targeted_parameter_names_.push_back(k);
    }
  }

  set_adapter(active_adapters_, cfg.inference_mode);
  mark_only_adapters_as_trainable(*model_);
  if (cfg.inference_mode) {
    for (auto& [n, p] : model_->named_parameters()) {
      if (n.find(adapter) != std::string::npos && p.is_leaf()) p.requires_grad_(false);
    }
  }
  const bool active = std::find(active_adapters_.begin(), active_adapters_.end(), adapter) !=
                      active_adapters_.end();
  set_additional_trainable_modules(*model_, f, adapter, cfg.inference_mode, active);
}

bool BaseTuner::uses_target_parameters(PeftConfig& config) const {
  const TargetFields f = target_fields(config);
  return f.target_parameters != nullptr && f.target_parameters->has_value() &&
         !(*f.target_parameters)->empty();
}

std::vector<std::string> BaseTuner::inject_parameters(PeftConfig& cfg, const std::string& adapter) {
  const TargetFields f = target_fields(cfg);
  std::set<std::string> names((*f.target_parameters)->begin(), (*f.target_parameters)->end());
  std::vector<std::string> out;
  for (const auto& [module_name, module] : model_->named_modules()) {
    const std::string unwrapped = strip_base_layer(module_name);
    for (const auto& [param_name, p] : module->named_parameters("", false)) {
      const std::string key = unwrapped.empty() ? param_name : unwrapped + "." + param_name;
      bool hit = names.count(key) != 0;
      for (const std::string& t : names) hit = hit || key.ends_with("." + t);
      if (!hit) continue;
      PEFTCPP_CHECK(!module_name.empty(), "[peft] targeting an nn.Parameter on the top-level "
                    "module is not supported (parameter '", param_name, "')");
      nn::ModulePtr target = model_->get_submodule(module_name);
      nn::ModulePtr unwrapped_module = model_->get_submodule(unwrapped);
      auto* layer = dynamic_cast<BaseTunerLayer*>(unwrapped_module.get());
      if (layer != nullptr && !layer->wrapped_parameter_name()) {
        throw ValueError(detail::concat(
            "[peft] trying to wrap an nn.Parameter of layer '", unwrapped, "' of type ",
            target->type_name(), ", which is not a valid target. Make sure that this layer is not "
            "also targeted with `target_modules`."));
      }
      // a previous adapter may already wrap this parameter: add to that wrapper
      for (nn::ModulePtr m = unwrapped_module; auto* w = dynamic_cast<BaseTunerLayer*>(m.get());
           m = w->base_layer()) {
        if (!w->wrapped_parameter_name()) break;
        if (*w->wrapped_parameter_name() == param_name) {
          target = m;
          break;
        }
      }
      create_and_replace(cfg, adapter, target, module_name, param_name);
      out.push_back(key);
    }
  }
  return out;
}

void BaseTuner::prepare_adapter_config(PeftConfig& config, const HfConfig* model_config) {
  TargetFields f = target_fields(config);
  if (f.target_modules == nullptr || !f.target_modules->is_none()) return;
  const std::vector<std::string> defaults =
      model_config != nullptr ? default_target_modules(model_config->model_type())
                              : std::vector<std::string>{};
  if (!defaults.empty()) {
    *f.target_modules = ModuleNames(defaults);
  } else if (!uses_target_parameters(config)) {
    throw ValueError("[peft] please specify `target_modules` or `target_parameters` in the config");
  }
}

void BaseTuner::check_new_adapter_config(const PeftConfig& /*config*/) const {
  if (configs_.size() <= 1) return;
  int with_bias = 0;
  for (const auto& [name, cfg] : configs_) with_bias += bias_of(*cfg) != "none" ? 1 : 0;
  PEFTCPP_CHECK(with_bias <= 1, "[peft] ", type_name(), " supports only 1 adapter with bias. When "
                "using multiple adapters, set bias to 'none' for all adapters.");
}

TargetMatch BaseTuner::check_target_module_exists(PeftConfig& config, const std::string& key) const {
  return peftcpp::check_target_module_exists(target_fields(config), key);
}

void BaseTuner::mark_only_adapters_as_trainable(nn::Module& model) {
  const std::set<std::string> prefixes = tuner_state_dict_key_prefixes(model);
  std::set<std::string> aux;
  for (const auto& [name, m] : model.named_modules()) {
    if (dynamic_cast<AuxiliaryTrainingWrapper*>(m.get()) != nullptr) aux.insert(name);
  }
  for (auto& [n, p] : model.named_parameters()) {
    if (is_key_under_prefixes(n, prefixes) || is_key_under_prefixes(n, aux)) continue;
    if (p.is_leaf()) p.requires_grad_(false);
  }
  for (const std::string& a : active_adapters_) {
    const std::string bias = bias_of(peft_config(a));
    if (bias == "none") continue;
    if (bias == "all") {
      for (auto& [n, p] : model.named_parameters()) {
        if (n == "bias" || n.ends_with(".bias")) p.requires_grad_(true);
      }
    } else if (bias.ends_with("_only")) {
      for (const auto& [name, m] : model.named_modules()) {
        if (!is_tuner_layer(*m)) continue;
        Tensor b = static_cast<BaseTunerLayer&>(*m).base_bias();
        if (b.defined()) b.requires_grad_(true);
      }
    } else {
      throw ValueError(detail::concat("[peft] requested bias: ", bias, ", is not implemented"));
    }
  }
  for (const auto& [name, m] : model.named_modules()) {
    if (is_tuner_layer(*m)) static_cast<BaseTunerLayer&>(*m).freeze_non_trainable_peft_weights();
  }
}

void BaseTuner::set_adapter(const AdapterNames& names, bool inference_mode) {
  set_auxiliary_adapter(*model_, names, inference_mode);
  for (const auto& [key, m] : model_->named_modules()) {
    if (!is_tuner_layer(*m)) continue;
    auto& layer = static_cast<BaseTunerLayer&>(*m);
    if (layer.merged()) {
      std::cerr << "[peft] warning: adapter cannot be set when the model is merged; unmerging first\n";
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
    if (layer == nullptr) continue;
    const AdapterNames& merged = layer->merged_adapters();
    PEFTCPP_CHECK(std::find(merged.begin(), merged.end(), adapter) == merged.end(),
                  "[peft] cannot delete adapter(s) ['", adapter, "'] while they are merged. "
                  "Please unmerge them first.");
  }
  std::erase_if(configs_, [&](const auto& c) { return c.first == adapter; });
  std::optional<AdapterNames> new_active;
  const std::string pre = prefix();
  for (const auto& [key, m] : model_->named_modules()) {
    if (key.find(pre) != std::string::npos || !is_tuner_layer(*m)) continue;
    auto& layer = static_cast<BaseTunerLayer&>(*m);
    layer.delete_adapter(adapter);
    if (!new_active) new_active = layer.active_adapters();
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
    if (auto* layer = dynamic_cast<BaseTunerLayer*>(m.get())) layer->merge(safe_merge, adapter_names);
  }
}

void BaseTuner::unmerge_adapter() {
  for (const auto& [key, m] : model_->named_modules()) {
    if (auto* layer = dynamic_cast<BaseTunerLayer*>(m.get())) layer->unmerge();
  }
}

nn::ModulePtr BaseTuner::unload_and_optionally_merge(bool merge, bool safe_merge,
                                                     const std::optional<AdapterNames>& names) {
  if (merge) check_merge_allowed();
  const nn::NamedModules named = model_->named_modules();
  std::set<std::string> tuner_layers;
  for (const auto& [key, m] : named) {
    if (dynamic_cast<BaseTunerLayer*>(m.get()) != nullptr) tuner_layers.insert(key);
  }
  for (const auto& [key, unused] : named) {
    if (key.empty()) continue;
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
      model_->replace_child(key, layer->unload_and_optionally_merge_module(merge, safe_merge, names));
    }
  }
  return model_;
}

nn::ModulePtr BaseTuner::merge_and_unload(bool safe_merge, const std::optional<AdapterNames>& names) {
  return unload_and_optionally_merge(true, safe_merge, names);
}

nn::ModulePtr BaseTuner::unload() {
  return unload_and_optionally_merge(false, false, std::nullopt);
}

nn::StateDict BaseTuner::adapter_state_dict(nn::Module& root, const PeftConfig& config,
                                            const std::string& /*adapter*/,
                                            const nn::StateDict& state) const {
  nn::StateDict out = filter_state_dict_by_prefixes(state, tuner_state_dict_key_prefixes(root));
  const std::string bias = bias_of(config);
  if (bias == "all") {
    for (const auto& [k, v] : state) {
      if (k == "bias" || k.ends_with(".bias")) out.emplace(k, v);
    }
  } else if (bias.ends_with("_only")) {
    for (const auto& [name, m] : root.named_modules()) {
      if (dynamic_cast<BaseTunerLayer*>(m.get()) == nullptr) continue;
      const std::string key = name.empty() ? "base_layer.bias" : name + ".base_layer.bias";
      if (auto it = state.find(key); it != state.end()) out.emplace(key, it->second);
    }
  }
  return out;
}

std::string BaseTuner::remove_adapter_name_from_key(const std::string& key,
                                                    const std::string& adapter) const {
  return remove_adapter_name_from_state_dict_key(key, adapter);
}

nn::StateDict BaseTuner::remap_adapter_state_dict_for_load(nn::Module& root,
                                                           const PeftConfig& /*config*/,
                                                           const std::string& adapter,
                                                           const nn::StateDict& state) const {
  const std::string peft_prefix = "base_model.model.";
  std::map<std::string, std::string> to_model;
  for (const auto& [model_key, v] :
       filter_state_dict_by_prefixes(root.state_dict(), tuner_state_dict_key_prefixes(root, adapter))) {
    const std::string ck = remove_adapter_name_from_key(model_key, adapter);
    to_model[ck] = model_key;
    if (!model_key.starts_with(peft_prefix)) to_model[peft_prefix + ck] = model_key;
  }
  nn::StateDict out;
  for (const auto& [k, v] : state) {
    auto it = to_model.find(k);
    out[it != to_model.end() ? it->second : k] = v;
  }
  return out;
}

}  // namespace peftcpp
