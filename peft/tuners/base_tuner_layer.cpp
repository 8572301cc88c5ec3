// BaseTunerLayer (port of BaseTunerLayer and check_adapters_to_merge in
// peft/tuners/tuners_utils.py @5d602fd).
#include "peft/tuners/base_tuner_layer.h"

#include <algorithm>
#include <iostream>

#include "peft/tuners/adapter_dict.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp {

BaseTunerLayer::BaseTunerLayer(std::shared_ptr<nn::UnaryModule> base_layer)
    : base_layer_(std::move(base_layer)) {
  PEFTCPP_CHECK(base_layer_ != nullptr, "[peft] a tuner layer needs a base layer");
  register_module("base_layer", &base_layer_);
}

nn::ModulePtr BaseTunerLayer::get_base_layer() const {
  nn::ModulePtr m = base_layer_;
  while (auto* t = dynamic_cast<BaseTunerLayer*>(m.get())) m = t->base_layer_;
  return m;
}

Tensor& BaseTunerLayer::base_weight() const {
  nn::ModulePtr base = get_base_layer();
  Tensor* w = base->find_parameter("weight");
  PEFTCPP_CHECK(
      w != nullptr && w->defined(),
      "[peft] the base layer (",
      base->type_name(),
      ") of ",
      type_name(),
      " has no weight");
  return *w;
}

Tensor BaseTunerLayer::base_bias() const {
  Tensor* b = get_base_layer()->find_parameter("bias");
  return b != nullptr ? *b : Tensor();
}

void BaseTunerLayer::add_adapter_layer_name(const std::string& name) {
  if (std::find(adapter_layer_names_.begin(), adapter_layer_names_.end(), name) ==
      adapter_layer_names_.end()) {
    adapter_layer_names_.push_back(name);
  }
}

nn::Module* BaseTunerLayer::container(const std::string& name) const {
  nn::ModulePtr c = find_child(name);
  return c.get();
}

bool BaseTunerLayer::has_adapter(const std::string& adapter) const {
  for (const std::string& n : adapter_layer_names_) {
    if (nn::Module* c = container(n); c != nullptr && adapter_dict::contains(*c, adapter)) {
      return true;
    }
  }
  return false;
}

void BaseTunerLayer::merge(bool safe_merge, const std::optional<AdapterNames>& adapter_names) {
  for (const std::string& a : adapters_to_merge(*this, adapter_names)) {
    if (!has_adapter(a))
      continue;
    merge_adapter(a, safe_merge);
    merged_adapters_.push_back(a);
  }
}

void BaseTunerLayer::unmerge() {
  if (!merged()) {
    std::cerr << "[peft] warning: already unmerged, nothing to do\n";
    return;
  }
  while (!merged_adapters_.empty()) {
    const std::string a = merged_adapters_.back();
    merged_adapters_.pop_back();
    if (has_adapter(a))
      unmerge_adapter(a);
  }
}

void BaseTunerLayer::enable_adapters(bool enabled) {
  if (enabled) {
    set_adapter(active_adapters_);
    disable_adapters_ = false;
    return;
  }
  for (const std::string& n : adapter_layer_names_) {
    nn::Module* c = container(n);
    if (c == nullptr)
      continue;
    for (const std::string& k : adapter_dict::keys(*c))
      adapter_dict::set_requires_grad(*c, k, false);
  }
  disable_adapters_ = true;
}

void BaseTunerLayer::set_adapter(const AdapterNames& names, bool inference_mode) {
  for (const std::string& n : adapter_layer_names_) {
    nn::Module* c = container(n);
    if (c == nullptr)
      continue;
    for (const std::string& k : adapter_dict::keys(*c)) {
      const bool on = std::find(names.begin(), names.end(), k) != names.end() && !inference_mode;
      adapter_dict::set_requires_grad(*c, k, on);
    }
  }
  freeze_non_trainable_peft_weights(names);
  active_adapters_ = names;
}

void BaseTunerLayer::freeze_non_trainable_peft_weights(const AdapterNames& adapters) {
  for (const auto& [adapter, containers] : frozen_peft_weight_names_) {
    if (!adapters.empty() &&
        std::find(adapters.begin(), adapters.end(), adapter) == adapters.end()) {
      continue;
    }
    for (const std::string& name : containers) {
      if (nn::Module* c = container(name))
        adapter_dict::set_requires_grad(*c, adapter, false);
    }
  }
}

void BaseTunerLayer::register_frozen_weight(
    const std::string& adapter, const std::string& container_name) {
  auto& list = frozen_peft_weight_names_[adapter];
  if (std::find(list.begin(), list.end(), container_name) == list.end()) {
    list.push_back(container_name);
  }
  freeze_non_trainable_peft_weights({adapter});
}

void BaseTunerLayer::set_requires_grad(const AdapterNames& names, bool requires_grad) {
  for (const std::string& n : adapter_layer_names_) {
    nn::Module* c = container(n);
    if (c == nullptr)
      continue;
    for (const std::string& a : names) adapter_dict::set_requires_grad(*c, a, requires_grad);
  }
  if (requires_grad)
    freeze_non_trainable_peft_weights(names);
}

std::set<std::string> BaseTunerLayer::available_adapters() const {
  std::set<std::string> out;
  for (const std::string& n : adapter_layer_names_) {
    if (nn::Module* c = container(n)) {
      for (const std::string& k : adapter_dict::keys(*c)) out.insert(k);
    }
  }
  return out;
}

std::vector<std::string> BaseTunerLayer::all_adapter_names() const {
  const std::set<std::string> s = available_adapters();
  return {s.begin(), s.end()};
}

void BaseTunerLayer::delete_adapter(const std::string& name) {
  for (const auto& [child_name, child] : named_children()) {
    if (child_name == "base_layer" || !child)
      continue;
    if (adapter_dict::is_adapter_dict(*child))
      adapter_dict::erase(*child, name);
  }
  erase_adapter_settings(name);
  frozen_peft_weight_names_.erase(name);
  auto it = std::find(active_adapters_.begin(), active_adapters_.end(), name);
  if (it == active_adapters_.end())
    return;
  AdapterNames remaining = active_adapters_;
  remaining.erase(remaining.begin() + (it - active_adapters_.begin()));
  if (!remaining.empty()) {
    set_adapter(remaining);
    return;
  }
  const std::vector<std::string> all = all_adapter_names();
  if (all.empty()) {
    set_adapter({});
  } else {
    std::cerr << "[peft] warning: adapter " << name
              << " was active which is now deleted. Setting active adapter to " << all.front()
              << ".\n";
    set_adapter({all.front()});
  }
}

nn::ModulePtr BaseTunerLayer::unload_and_optionally_merge_module(
    bool merge_first, bool safe_merge, const std::optional<AdapterNames>& adapter_names) {
  if (merge_first)
    merge(safe_merge, adapter_names);
  return get_base_layer();
}

AdapterNames adapters_to_merge(
    const BaseTunerLayer& layer, const std::optional<AdapterNames>& names) {
  AdapterNames out = names ? *names : layer.active_adapters();
  if (layer.merged()) {
    const AdapterNames& done = layer.merged_adapters();
    std::erase_if(out, [&](const std::string& n) {
      return std::find(done.begin(), done.end(), n) != done.end();
    });
    if (out.empty())
      std::cerr << "[peft] warning: all adapters are already merged, nothing to do\n";
  }
  return out;
}

void check_finite_merge(const Tensor& t, const std::string& adapter) {
  if (!all(isfinite(t.detach())).item<bool>()) {
    throw ValueError(detail::concat(
        "[peft] NaNs detected in the merged weights. The adapter ",
        adapter,
        " seems to be broken"));
  }
}

}  // namespace peftcpp
