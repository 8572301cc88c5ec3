// LoraModel: the LoRA tuner (port of peft/tuners/lora/model.py @5d602fd). Paper: LoRA, Hu et
// al. 2021, arXiv:2106.09685.
//
// Creates lora.Linear / Embedding / Conv1d / Conv2d / ParamWrapper layers for the targeted
// modules (dispatch_default), with per-module rank and alpha from rank_pattern / alpha_pattern,
// and keeps DoRA's magnitude under its historical file key (`lora_magnitude_vector` without
// ".weight").
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "peft/tuners/base_tuner.h"
#include "peft/tuners/lora/config.h"
#include "peft/tuners/lora/layer.h"

namespace peftcpp::lora {

class LoraModel : public BaseTuner {
 public:
  explicit LoraModel(nn::ModulePtr model) : BaseTuner(std::move(model)) {}
  std::string type_name() const override {
    return "LoraModel";
  }

  std::string prefix() const override {
    return "lora_";
  }
  bool is_tuner_layer(const nn::Module& m) const override {
    return dynamic_cast<const LoraLayer*>(&m) != nullptr;
  }
  TargetFields target_fields(PeftConfig& config) const override;
  std::string bias_of(const PeftConfig& config) const override;
  void prepare_model(PeftConfig& config, nn::Module& model) override;
  void check_new_adapter_config(const PeftConfig& config) const override;
  void check_merge_allowed() const override;
  void create_and_replace(
      PeftConfig& config,
      const std::string& adapter,
      const nn::ModulePtr& target,
      const std::string& current_key,
      const std::optional<std::string>& parameter_name) override;

  nn::StateDict adapter_state_dict(
      nn::Module& root,
      const PeftConfig& config,
      const std::string& adapter,
      const nn::StateDict& state) const override;
  nn::StateDict remap_adapter_state_dict_for_load(
      nn::Module& root,
      const PeftConfig& config,
      const std::string& adapter,
      const nn::StateDict& state) const override;

  /// PEFT's _enable_peft_forward_hooks check: every name of a mixed batch must be "__base__" or
  /// an adapter that some LoRA layer has.
  void check_forward_adapter_names(const AdapterNames& names) const override;

 protected:
  std::vector<std::string> default_target_modules(const std::string& model_type) const override;
};

/// The LoRA layer for `target` (PEFT's dispatch_default); may flip config.fan_in_fan_out to
/// match the base layer type, as PEFT does (with a warning).
std::shared_ptr<LoraLayer> create_new_module(
    LoraConfig& config,
    const std::string& adapter,
    const nn::ModulePtr& target,
    int rank,
    double alpha,
    const std::string& target_name,
    const std::optional<std::string>& parameter_name);

/// Factory for the tuner registry.
std::shared_ptr<BaseTuner> make_lora_model(nn::ModulePtr model);

}  // namespace peftcpp::lora
