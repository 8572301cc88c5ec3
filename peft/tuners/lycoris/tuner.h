// LycorisTuner: the tuner LoHa and LoKr share (port of LycorisTuner in
// peft/tuners/lycoris_utils.py and the identical _create_and_replace of
// peft/tuners/{loha,lokr}/model.py @5d602fd).
//
// Targets nn::Linear, nn::Conv1d and nn::Conv2d (also when already wrapped by another tuner
// layer); rank and alpha per module come from rank_pattern / alpha_pattern (PEFT's
// get_pattern_key), else r / alpha. Default target modules per architecture are LoRA's
// (TRANSFORMERS_MODELS_TO_LOHA/LOKR_TARGET_MODULES_MAPPING are copies of LoRA's table).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "peft/tuners/base_tuner.h"
#include "peft/tuners/lycoris/layer.h"
#include "peft/tuners/lycoris_config.h"

namespace peftcpp::lycoris {

class LycorisTuner : public BaseTuner {
 public:
  TargetFields target_fields(PeftConfig& config) const override;
  void create_and_replace(
      PeftConfig& config,
      const std::string& adapter,
      const nn::ModulePtr& target,
      const std::string& current_key,
      const std::optional<std::string>& parameter_name) override;
  /// Mixed-adapter batches are LoRA's (PEFT passes `adapter_names` on to the base layers, which
  /// reject it): always throws.
  void check_forward_adapter_names(const AdapterNames& names) const override;

 protected:
  using BaseTuner::BaseTuner;
  std::vector<std::string> default_target_modules(const std::string& model_type) const override;
  /// The method's name for messages ("loha").
  virtual std::string method_name() const = 0;
  /// The method's layer around `target` (whose innermost base is a Linear / Conv1d / Conv2d).
  virtual std::shared_ptr<LycorisLayer> make_layer(
      const std::shared_ptr<nn::UnaryModule>& target,
      const std::string& adapter,
      const LycorisConfig& config,
      int rank,
      double alpha) const = 0;
};

/// Rank and alpha of the module `key` under `config` (rank_pattern / alpha_pattern, else r /
/// alpha).
std::pair<int, double> rank_and_alpha(const LycorisConfig& config, const std::string& key);

}  // namespace peftcpp::lycoris
