// BaseTuner injection: matching modules, creating tuner layers, the errors when nothing
// matches and the all-or-nothing rollback (port of BaseTuner.inject_adapter / _inject_parameters
// / _prepare_adapter_config in peft/tuners/tuners_utils.py @5d602fd).
#include <algorithm>
#include <iostream>
#include <set>

#include "models/model.h"
#include "peft/tuners/base_tuner.h"
#include "peft/tuners/tuners_utils.h"
#include "peft/utils/auxiliary.h"
#include "peft/utils/trainable_modules.h"
#include "tensor/error.h"

namespace peftcpp {
namespace {

std::string module_names_text(const ModuleNames& m) {
  if (m.is_none())
    return "None";
  if (m.is_string())
    return "'" + m.pattern() + "'";
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
    if (name.empty() || m->named_parameters("", false).empty())
      continue;
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

void BaseTuner::replace_module(const std::string& key, const nn::ModulePtr& new_module) {
  nn::ModulePtr old = model_->replace_child(key, new_module);
  if (current_injection_ != nullptr)
    current_injection_->replaced.emplace_back(key, old);
}

void BaseTuner::record_updated_layer(BaseTunerLayer* layer) {
  if (current_injection_ != nullptr)
    current_injection_->updated.push_back(layer);
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
      if (auto* w = dynamic_cast<AuxiliaryTrainingWrapper*>(m.get());
          w && w->adapters().count(adapter)) {
        w->delete_adapter(adapter, w->active_adapters());
      }
    }
    roll_back(adapter, record);
    for (const auto& [key, m] : before) {
      if (key.empty())
        continue;
      nn::ModulePtr now;
      try {
        now = model_->get_submodule(key);
      } catch (const ValueError&) {
        continue;
      }
      if (now != m)
        model_->replace_child(key, m);
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
  // Long target lists (e.g. every layer spelled out) are condensed to the suffixes that tell them
  // apart from the other modules, as PEFT does (not for IA3, whose feedforward_modules must stay
  // a subset).
  if (f.target_modules != nullptr && f.target_modules->is_list() &&
      f.target_modules->names().size() >= 20 && cfg.peft_type() != PeftType::IA3) {
    const std::vector<std::string>& names = f.target_modules->names();
    std::vector<std::string> others;
    for (const auto& [key, m] : named) {
      bool target = std::find(names.begin(), names.end(), key) != names.end();
      for (const std::string& t : names) target = target || key.ends_with("." + t);
      if (!target)
        others.push_back(key);
    }
    std::vector<std::string> minimal = find_minimal_target_modules(names, others);
    if (minimal.size() < names.size())
      *f.target_modules = ModuleNames(std::move(minimal));
  }
  std::vector<std::string> existing_prefixes;
  for (const auto& [key, m] : named) {
    if (dynamic_cast<BaseTunerLayer*>(m.get()) != nullptr)
      existing_prefixes.push_back(key + ".");
  }
  std::vector<std::string> excluded, unmatched, targeted, targeted_params;
  for (const auto& [key, m] : named) {
    if (key.empty())
      continue;
    bool inside = false;
    for (const std::string& p : existing_prefixes) inside = inside || key.starts_with(p);
    if (inside)
      continue;
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
  if (uses_target_parameters(cfg))
    targeted_params = inject_parameters(cfg, adapter);

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
          "[peft] Target modules ",
          module_names_text(*f.target_modules),
          " not found in the base model. Please check the target modules and try again.",
          layer_notes(f),
          " Candidate module names: ",
          candidate_names(*model_),
          "."));
    }
    throw ValueError(detail::concat(
        "[peft] No modules were targeted for adaptation. This might be caused by a combination of "
        "mismatched target modules and excluded modules. Please check your `target_modules` and "
        "`exclude_modules` configuration. You may also have only targeted modules that are "
        "marked to be saved (`modules_to_save`).",
        layer_notes(f),
        " Candidate module names: ",
        candidate_names(*model_),
        "."));
  }
  if (f.exclude_modules != nullptr && !f.exclude_modules->is_none() && excluded.empty()) {
    std::cerr << "[peft] warning: you have passed exclude_modules="
              << module_names_text(*f.exclude_modules) << " but no modules were excluded\n";
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
      if (n.find(adapter) != std::string::npos && p.is_leaf())
        p.requires_grad_(false);
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
      if (!hit)
        continue;
      PEFTCPP_CHECK(
          !module_name.empty(),
          "[peft] targeting an nn.Parameter on the top-level "
          "module is not supported (parameter '",
          param_name,
          "')");
      nn::ModulePtr target = model_->get_submodule(module_name);
      nn::ModulePtr unwrapped_module = model_->get_submodule(unwrapped);
      auto* layer = dynamic_cast<BaseTunerLayer*>(unwrapped_module.get());
      if (layer != nullptr && !layer->wrapped_parameter_name()) {
        throw ValueError(detail::concat(
            "[peft] trying to wrap an nn.Parameter of layer '",
            unwrapped,
            "' of type ",
            target->type_name(),
            ", which is not a valid target. Make sure that this layer is not "
            "also targeted with `target_modules`."));
      }
      // a previous adapter may already wrap this parameter: add to that wrapper
      for (nn::ModulePtr m = unwrapped_module; auto* w = dynamic_cast<BaseTunerLayer*>(m.get());
           m = w->base_layer()) {
        if (!w->wrapped_parameter_name())
          break;
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
  if (f.target_modules == nullptr || !f.target_modules->is_none())
    return;
  const std::vector<std::string> defaults = model_config != nullptr
                                                ? default_target_modules(model_config->model_type())
                                                : std::vector<std::string>{};
  if (!defaults.empty()) {
    *f.target_modules = ModuleNames(defaults);
  } else if (!uses_target_parameters(config)) {
    throw ValueError("[peft] please specify `target_modules` or `target_parameters` in the config");
  }
}

void BaseTuner::check_new_adapter_config(const PeftConfig& /*config*/) const {
  if (configs_.size() <= 1)
    return;
  int with_bias = 0;
  for (const auto& [name, cfg] : configs_) with_bias += bias_of(*cfg) != "none" ? 1 : 0;
  PEFTCPP_CHECK(
      with_bias <= 1,
      "[peft] ",
      type_name(),
      " supports only 1 adapter with bias. When "
      "using multiple adapters, set bias to 'none' for all adapters.");
}

TargetMatch BaseTuner::check_target_module_exists(
    PeftConfig& config, const std::string& key) const {
  return peftcpp::check_target_module_exists(target_fields(config), key);
}

}  // namespace peftcpp
