// IA3Model: the (IA)^3 tuner (port of peft/tuners/ia3/model.py @5d602fd). Paper: Liu et al.
// 2022, arXiv:2205.05638.
//
// Wraps the targeted nn::Linear / transformers Conv1D / nn::Conv2d modules in ia3 layers; a
// module whose name matches `feedforward_modules` (regex full match for a string, else a plain
// name suffix, as PEFT) gets its input scaled instead of its output. target_modules and
// feedforward_modules default per architecture (PEFT's TRANSFORMERS_MODELS_TO_IA3_* mappings).
// Tensors are saved as `<module>.ia3_l`.
//
//   IA3Config cfg;
//   cfg.target_modules = {"k_proj", "v_proj", "down_proj"};
//   cfg.feedforward_modules = {"down_proj"};
//   auto model = get_peft_model(base, cfg.clone());
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "peft/tuners/base_tuner.h"
#include "peft/tuners/ia3/config.h"
#include "peft/tuners/ia3/layer.h"

namespace peftcpp::ia3 {

class IA3Model : public BaseTuner {
 public:
  explicit IA3Model(nn::ModulePtr model) : BaseTuner(std::move(model)) {}
  std::string type_name() const override {
    return "IA3Model";
  }

  std::string prefix() const override {
    return "ia3_";
  }
  bool is_tuner_layer(const nn::Module& m) const override {
    return dynamic_cast<const IA3Layer*>(&m) != nullptr;
  }
  TargetFields target_fields(PeftConfig& config) const override;
  /// Fills target_modules / feedforward_modules from the per-architecture defaults when None
  /// (ValueError "Please specify ..." for unknown architectures and custom models).
  void prepare_adapter_config(PeftConfig& config, const HfConfig* model_config) override;
  void create_and_replace(
      PeftConfig& config,
      const std::string& adapter,
      const nn::ModulePtr& target,
      const std::string& current_key,
      const std::optional<std::string>& parameter_name) override;
  /// (IA)^3 layers take no per-sample adapter names: throws ValueError.
  void check_forward_adapter_names(const AdapterNames& names) const override;

  /// Adds `adapter` whose vectors are sum_i weights[i] * ia3_l[adapters[i]] (PEFT's
  /// add_weighted_adapter): its config is the first adapter's with the union of the target and
  /// feed-forward modules; it is frozen and not activated. No-op when `adapter` exists.
  void add_weighted_adapter(
      const std::vector<std::string>& adapters,
      const std::vector<double>& weights,
      const std::string& adapter);
};

/// PEFT's _check_target_module_feedforward: whether the module `key` is a feed-forward module.
bool is_feedforward_module(const IA3Config& config, const std::string& key);

/// The ia3 layer for `target` (PEFT's _create_new_module); may flip config.fan_in_fan_out to
/// match the base layer type, with PEFT's warning.
std::shared_ptr<IA3Layer> create_new_module(
    IA3Config& config,
    const std::string& adapter,
    const nn::ModulePtr& target,
    bool is_feedforward);

/// PEFT's TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING / ..._FEEDFORWARD_MODULES_MAPPING
/// (nullopt for unknown model types).
std::optional<std::vector<std::string>> default_ia3_target_modules(const std::string& model_type);
std::optional<std::vector<std::string>> default_ia3_feedforward_modules(
    const std::string& model_type);

/// Factory for the tuner registry.
std::shared_ptr<BaseTuner> make_ia3_model(nn::ModulePtr model);

}  // namespace peftcpp::ia3
