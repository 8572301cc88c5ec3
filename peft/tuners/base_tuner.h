// BaseTuner: injects a PEFT method's layers into a model and manages its adapters (port of
// BaseTuner in peft/tuners/tuners_utils.py @5d602fd).
//
// The tuner is an nn::Module whose only child is the adapted model (`model`), so parameter names
// read `model.<path>...` below it and `base_model.model.<path>...` below a PeftModel, as in PEFT.
// A method (LoRA, IA3, ...) subclasses it and provides what PEFT's docstring lists: `prefix`,
// the tuner layer class test, `target_fields` (where its config keeps target_modules & co.),
// `create_and_replace`, and optionally the config preparation and state-dict hooks.
//
// inject_adapter is all-or-nothing: when creating a layer throws, every module replaced and every
// layer updated during that call is restored before the error propagates.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/json/hf_config.h"
#include "nn/module.h"
#include "peft/config.h"
#include "peft/tuners/base_tuner_layer.h"
#include "peft/tuners/target_matching.h"

namespace peftcpp {

class BaseTuner : public nn::Module {
 public:
  // ---- adapters and configs -------------------------------------------------------------------
  const nn::ModulePtr& model() const {
    return model_;
  }
  /// Config of `adapter` (throws ValueError naming it and the known adapters when absent).
  PeftConfig& peft_config(const std::string& adapter) const;
  bool has_adapter(const std::string& adapter) const;
  /// Adapter names in the order they were added.
  std::vector<std::string> adapter_names() const;
  const AdapterNames& active_adapters() const {
    return active_adapters_;
  }

  /// Registers `config` under `adapter` and injects its layers (PEFT's BaseTuner.__init__ for the
  /// first adapter, PeftModel.add_adapter for later ones). On any error the config is removed
  /// again and the model is left unchanged.
  virtual void add_adapter(const std::string& adapter,
                           std::unique_ptr<PeftConfig> config);
  /// Creates the layers of the registered `adapter` (PEFT's inject_adapter; prompt learning
  /// builds its encoder instead).
  virtual void inject_adapter(const std::string& adapter);

  /// Activates `names` on every tuner layer and auxiliary wrapper (unmerging merged layers).
  void set_adapter(const AdapterNames& names, bool inference_mode = false);
  /// Deletes `adapter` from every layer; throws when it is unknown or still merged.
  virtual void delete_adapter(const std::string& adapter);
  void enable_adapter_layers();
  void disable_adapter_layers();
  void set_requires_grad(const AdapterNames& names, bool requires_grad);

  /// Merges the given adapters (nullopt = active ones) into the base weights of every layer.
  void merge_adapter(
      const std::optional<AdapterNames>& adapter_names = {}, bool safe_merge = false);
  void unmerge_adapter();
  /// Merges, then puts every base layer back in place of its tuner layer; returns the model.
  nn::ModulePtr merge_and_unload(
      bool safe_merge = false, const std::optional<AdapterNames>& adapter_names = {});
  /// Puts every base layer back without merging; returns the model.
  nn::ModulePtr unload();

  const std::vector<std::string>& targeted_module_names() const {
    return targeted_module_names_;
  }
  const std::vector<std::string>& targeted_parameter_names() const {
    return targeted_parameter_names_;
  }

  /// The children a PeftModel registers for this tuner: by default the tuner itself as
  /// `base_model`; prompt learning registers the base model and its encoders instead.
  virtual nn::NamedModules peft_model_children();

  // ---- what a method provides -----------------------------------------------------------------
  /// The unique prefix of the method's tensors ("lora_").
  virtual std::string prefix() const = 0;
  /// Whether `m` is one of this method's layers (PEFT's tuner_layer_cls).
  virtual bool is_tuner_layer(const nn::Module& m) const = 0;
  /// Where `config` keeps the targeting fields (see TargetFields).
  virtual TargetFields target_fields(PeftConfig& config) const = 0;

  /// Fills target_modules from the method's per-architecture defaults when it is None.
  virtual void prepare_adapter_config(PeftConfig& config, const HfConfig* model_config);
  /// Changes the model before injection (LoRA's layer_replication).
  virtual void prepare_model(PeftConfig& /*config*/, nn::Module& /*model*/) {}
  /// Checks a new adapter against the existing ones (default: at most one adapter with bias).
  virtual void check_new_adapter_config(const PeftConfig& config) const;
  virtual TargetMatch check_target_module_exists(PeftConfig& config, const std::string& key) const;
  /// Creates (or updates) the tuner layer for `target` at `current_key`; `parameter_name` is set
  /// when an nn.Parameter is targeted (target_parameters).
  virtual void create_and_replace(
      PeftConfig& config,
      const std::string& adapter,
      const nn::ModulePtr& target,
      const std::string& current_key,
      const std::optional<std::string>& parameter_name) = 0;
  /// The config's `bias` setting ("none", "all" or "<prefix>only"); "none" for methods without.
  virtual std::string bias_of(const PeftConfig& /*config*/) const {
    return "none";
  }
  /// Freezes everything but adapter tensors, then applies the `bias` setting.
  virtual void mark_only_adapters_as_trainable(nn::Module& model);
  virtual void check_merge_allowed() const {}
  /// Checks the per-sample adapter names of a mixed batch (throws on unknown names).
  virtual void check_forward_adapter_names(const AdapterNames& /*names*/) const {}
  /// The training loss with the method's regularisation terms added (PEFT adds them to
  /// outputs.loss in the tuner's forward, e.g. AdaLoRA's orthogonal regularisation); default:
  /// `loss` unchanged.
  virtual Tensor add_regularization(const Tensor& loss) const {
    return loss;
  }
  /// Whether `adapter`'s config targets parameters (target_parameters).
  bool uses_target_parameters(PeftConfig& config) const;

  // ---- state dict hooks (see peft/utils/save_and_load.h) --------------------------------------
  /// Entries of `state` (keys of the module `root`) that belong to `adapter`, keys unchanged.
  virtual nn::StateDict adapter_state_dict(
      nn::Module& root,
      const PeftConfig& config,
      const std::string& adapter,
      const nn::StateDict& state) const;
  /// Model key -> checkpoint key (the adapter name removed).
  virtual std::string remove_adapter_name_from_key(
      const std::string& key, const std::string& adapter) const;
  /// Checkpoint keys -> model keys of `root` (inverse of remove_adapter_name_from_key).
  virtual nn::StateDict remap_adapter_state_dict_for_load(
      nn::Module& root,
      const PeftConfig& config,
      const std::string& adapter,
      const nn::StateDict& state) const;

 protected:
  explicit BaseTuner(nn::ModulePtr model);
  /// The HF config of the model when it is a models::PreTrainedModel, else null.
  const HfConfig* model_config() const;
  /// Puts `new_module` in place of the module at `key` (relative to the model); undone if the
  /// injection fails later.
  void replace_module(const std::string& key, const nn::ModulePtr& new_module);
  /// Notes that an existing tuner layer got the adapter (removed again if the injection fails).
  void record_updated_layer(BaseTunerLayer* layer);
  /// LoRA's per-architecture target_modules defaults (model_type -> names); empty = none.
  virtual std::vector<std::string> default_target_modules(const std::string& /*model_type*/) const {
    return {};
  }
  /// Injects the layers for target_parameters (returns the targeted parameter names).
  std::vector<std::string> inject_parameters(PeftConfig& config, const std::string& adapter);
  nn::ModulePtr unload_and_optionally_merge(
      bool merge, bool safe_merge, const std::optional<AdapterNames>& adapter_names);

  nn::ModulePtr model_;
  std::vector<std::pair<std::string, std::unique_ptr<PeftConfig>>> configs_;
  AdapterNames active_adapters_;
  std::vector<std::string> targeted_module_names_;
  std::vector<std::string> targeted_parameter_names_;

 private:
  // Rollback record of one inject_adapter call.
  struct Injection {
    std::vector<std::pair<std::string, nn::ModulePtr>> replaced;  // key -> original module
    std::vector<BaseTunerLayer*> updated;  // existing layers given the adapter
  };
  void inject_adapter_impl(const std::string& adapter, Injection& record);
  void roll_back(const std::string& adapter, Injection& record);
  Injection* current_injection_ = nullptr;
};

}  // namespace peftcpp
