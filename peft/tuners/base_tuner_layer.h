// BaseTunerLayer: what every PEFT layer shares (port of BaseTunerLayer in
// peft/tuners/tuners_utils.py @5d602fd).
//
// A tuner layer replaces a module of the base model (a Linear, Embedding, Conv, ...) and keeps
// it as its child `base_layer`, so the base weights keep their names with `.base_layer`
// inserted (`lin0.base_layer.weight`). Its adapter tensors live in containers keyed by adapter
// name (`adapter_layer_names`, e.g. lora_A / lora_B), which is what puts the adapter name into
// parameter names. The layer tracks which adapters are active (used in forward), which are
// merged into the base weight, and whether all adapters are disabled.
//
// Invariants: merged adapters are a subset of the available ones; while disabled, forward is
// the base layer's (a merged layer unmerges first, as PEFT does); active adapters are the only
// trainable ones (set_adapter), minus frozen_peft_weight_names (e.g. MiCA's lora_B).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "nn/module.h"

namespace peftcpp {

using AdapterNames = std::vector<std::string>;

class BaseTunerLayer : public nn::UnaryModule {
 public:
  /// The direct child `base_layer` (may itself be a tuner layer).
  const std::shared_ptr<nn::UnaryModule>& base_layer() const {
    return base_layer_;
  }
  /// The innermost wrapped module (PEFT's get_base_layer: follows nested tuner layers).
  nn::ModulePtr get_base_layer() const;
  /// The base layer's `weight` (throws naming the module type when it has none).
  Tensor& base_weight() const;
  /// The base layer's `bias` (undefined when it has none).
  Tensor base_bias() const;

  /// Names of the containers holding trainable adapter tensors (PEFT's adapter_layer_names).
  const std::vector<std::string>& adapter_layer_names() const {
    return adapter_layer_names_;
  }
  /// Adds a container name (variants register e.g. lora_diag); no-op when listed.
  void add_adapter_layer_name(const std::string& name);

  bool merged() const {
    return !merged_adapters_.empty();
  }
  const AdapterNames& merged_adapters() const {
    return merged_adapters_;
  }
  bool disable_adapters() const {
    return disable_adapters_;
  }
  const AdapterNames& active_adapters() const {
    return active_adapters_;
  }

  /// Merges the given adapters (nullopt = the active ones) into the base weights; adapters already
  /// merged are skipped. safe_merge computes on a copy and throws on non-finite results without
  /// touching the weights.
  virtual void merge(
      bool safe_merge = false, const std::optional<AdapterNames>& adapter_names = {});
  /// Removes every merged adapter from the base weights (last merged first).
  virtual void unmerge();
  /// Enables or disables every adapter of this layer (disabling freezes them).
  virtual void enable_adapters(bool enabled);
  /// Makes `names` the active adapters; they become trainable unless inference_mode.
  virtual void set_adapter(const AdapterNames& names, bool inference_mode = false);
  /// Removes `name` from every container; when it was active, the remaining active adapters
  /// (or else the first available one, sorted) become active.
  virtual void delete_adapter(const std::string& name);
  /// requires_grad on the tensors of the given adapters.
  void set_requires_grad(const AdapterNames& names, bool requires_grad);
  /// Adapters found in the adapter containers (PEFT's _get_available_adapters).
  std::set<std::string> available_adapters() const;
  /// Every adapter name the layer knows, sorted (containers plus per-adapter settings).
  virtual std::vector<std::string> all_adapter_names() const;

  /// Container names of adapter tensors that must stay frozen for `adapter` (MiCA's lora_B).
  void register_frozen_weight(const std::string& adapter, const std::string& container);
  /// Re-freezes the weights listed by register_frozen_weight for `adapters` (all when empty).
  void freeze_non_trainable_peft_weights(const AdapterNames& adapters = {});
  /// The parameter this layer adapts when it wraps an nn.Parameter (LoRA's ParamWrapper).
  virtual std::optional<std::string> wrapped_parameter_name() const {
    return std::nullopt;
  }
  /// What replaces this layer on unload: by default the innermost base layer, after merging
  /// this layer's adapters when `merge`.
  virtual nn::ModulePtr unload_and_optionally_merge_module(
      bool merge, bool safe_merge, const std::optional<AdapterNames>& adapter_names);

  /// Per-sample adapter names for the next forward calls (PEFT's `adapter_names=` forward
  /// argument, "__base__" = no adapter); null = use the active adapters. Set by PeftModel's
  /// mixed-batch scope.
  void set_forward_adapter_names(const AdapterNames* names) {
    forward_adapter_names_ = names;
  }

 protected:
  explicit BaseTunerLayer(std::shared_ptr<nn::UnaryModule> base_layer);

  /// Merges one adapter (called by merge for each adapter not merged yet).
  virtual void merge_adapter(const std::string& adapter, bool safe_merge) = 0;
  /// Unmerges one adapter (called by unmerge, last merged first).
  virtual void unmerge_adapter(const std::string& adapter) = 0;
  /// Whether `adapter` has weights in this layer (merging others is a no-op).
  virtual bool has_adapter(const std::string& adapter) const;
  /// The container child `name` (nullptr when the layer has none).
  nn::Module* container(const std::string& name) const;
  /// Forgets per-adapter settings of `name` (subclasses erase their maps); called by
  /// delete_adapter after the containers are cleaned.
  virtual void erase_adapter_settings(const std::string& /*name*/) {}

  std::shared_ptr<nn::UnaryModule> base_layer_;
  std::vector<std::string> adapter_layer_names_;
  std::map<std::string, std::vector<std::string>> frozen_peft_weight_names_;
  AdapterNames active_adapters_{"default"};
  AdapterNames merged_adapters_;
  bool disable_adapters_ = false;
  const AdapterNames* forward_adapter_names_ = nullptr;
};

/// PEFT's check_adapters_to_merge: `names` (nullopt = the layer's active adapters) minus the ones
/// already merged.
AdapterNames adapters_to_merge(
    const BaseTunerLayer& layer, const std::optional<AdapterNames>& names);

/// Throws ValueError "[peft] NaNs detected in the merged weights ..." when `t` has a non-finite
/// element (safe_merge).
void check_finite_merge(const Tensor& t, const std::string& adapter);

}  // namespace peftcpp
