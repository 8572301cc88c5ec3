// OFTModel: the OFT tuner (port of peft/tuners/oft/model.py @5d602fd). Paper: OFT, Qiu et al.
// 2023, arXiv:2306.07280.
//
// Wraps the targeted nn::Linear / nn::Conv2d / nn::Embedding modules in oft.Linear / oft.Conv2d
// / oft.Embedding (dispatch_default; the quantized dispatchers of PEFT have no counterpart
// here). Adapter files hold `<module>.oft_R.weight` / `<module>.oft_embedding_R.weight`; files
// of PEFT < 0.16 (`.oft_r.` keys) are rejected, as PEFT does.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "peft/tuners/base_tuner.h"
#include "peft/tuners/oft/config.h"
#include "peft/tuners/oft/layer.h"

namespace peftcpp::oft {

class OFTModel : public BaseTuner {
 public:
  explicit OFTModel(nn::ModulePtr model) : BaseTuner(std::move(model)) {}
  std::string type_name() const override {
    return "OFTModel";
  }
  std::string prefix() const override {
    return "oft_";
  }
  bool is_tuner_layer(const nn::Module& m) const override {
    return dynamic_cast<const OFTLayer*>(&m) != nullptr;
  }
  TargetFields target_fields(PeftConfig& config) const override;
  std::string bias_of(const PeftConfig& config) const override;
  /// Validates the config (PEFT's __post_init__, for configs built in code), then the base checks.
  void check_new_adapter_config(const PeftConfig& config) const override;
  void create_and_replace(
      PeftConfig& config,
      const std::string& adapter,
      const nn::ModulePtr& target,
      const std::string& current_key,
      const std::optional<std::string>& parameter_name) override;
  nn::StateDict remap_adapter_state_dict_for_load(
      nn::Module& root,
      const PeftConfig& config,
      const std::string& adapter,
      const nn::StateDict& state) const override;

 protected:
  std::vector<std::string> default_target_modules(const std::string& model_type) const override;
};

/// The OFT layer for `target` (PEFT's dispatch_default: Conv2d, Linear, Embedding); for a Linear
/// target fan_in_fan_out is reset to false in `config` (with a warning), as PEFT does.
std::shared_ptr<OFTLayer> create_new_module(
    OFTConfig& config,
    const std::string& adapter,
    const nn::ModulePtr& target,
    const std::string& target_name);

/// Factory for the tuner registry.
std::shared_ptr<BaseTuner> make_oft_model(nn::ModulePtr model);

}  // namespace peftcpp::oft
