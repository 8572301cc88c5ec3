// BOFTModel: the BOFT tuner (port of peft/tuners/boft/model.py @5d602fd). Paper: BOFT, Liu et
// al. 2024, arXiv:2311.06243 (builds on OFT, arXiv:2306.07280).
//
// Wraps the targeted nn::Linear / nn::Conv2d modules in boft.Linear / boft.Conv2d; the adapter
// file holds `<module>.boft_R` and `<module>.boft_s`.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "peft/tuners/base_tuner.h"
#include "peft/tuners/boft/config.h"
#include "peft/tuners/boft/layer.h"

namespace peftcpp::boft {

class BOFTModel : public BaseTuner {
 public:
  explicit BOFTModel(nn::ModulePtr model) : BaseTuner(std::move(model)) {}
  std::string type_name() const override {
    return "BOFTModel";
  }
  std::string prefix() const override {
    return "boft_";
  }
  bool is_tuner_layer(const nn::Module& m) const override {
    return dynamic_cast<const BOFTLayer*>(&m) != nullptr;
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

 protected:
  std::vector<std::string> default_target_modules(const std::string& model_type) const override;
};

/// The BOFT layer for `target` (Linear or Conv2d, PEFT's _create_new_module); for a Linear
/// target fan_in_fan_out is reset to false in `config` (with a warning), as PEFT does.
std::shared_ptr<BOFTLayer> create_new_module(
    BOFTConfig& config,
    const std::string& adapter,
    const nn::ModulePtr& target,
    const std::string& target_name);

/// Factory for the tuner registry.
std::shared_ptr<BaseTuner> make_boft_model(nn::ModulePtr model);

}  // namespace peftcpp::boft
