// VeraModel: the VeRA tuner (port of peft/tuners/vera/model.py @5d602fd). Paper: Kopiczko et
// al. 2023, "VeRA: Vector-based Random Matrix Adaptation", arXiv:2310.11454.
//
// Holds the shared projections as buffers `vera_A.<adapter>` / `vera_B.<adapter>` (below a
// PeftModel: `base_model.vera_A.<adapter>`), sized by the largest targeted layer and drawn from
// PyTorch's CPU generator seeded with projection_prng_key (projection.h) when the first adapter
// is added; later adapters share them (same key required). With save_projection the
// projections are saved as `base_model.vera_A` / `base_model.vera_B` and must be in the file
// when loading; without, they are regenerated from the key, bit-identical to PEFT's.
//
//   VeraConfig cfg;
//   cfg.r = 64;
//   cfg.target_modules = {"q_proj", "v_proj"};
//   auto model = get_peft_model(base, cfg.clone());
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "peft/tuners/adapter_dict.h"
#include "peft/tuners/base_tuner.h"
#include "peft/tuners/vera/config.h"
#include "peft/tuners/vera/layer.h"

namespace peftcpp::vera {

class VeraModel : public BaseTuner {
 public:
  explicit VeraModel(nn::ModulePtr model);
  std::string type_name() const override {
    return "VeraModel";
  }

  /// The shared projections, keyed by adapter name.
  const std::shared_ptr<BufferDict>& vera_A() const {
    return vera_A_;
  }
  const std::shared_ptr<BufferDict>& vera_B() const {
    return vera_B_;
  }

  std::string prefix() const override {
    return "vera_lambda_";
  }
  bool is_tuner_layer(const nn::Module& m) const override {
    return dynamic_cast<const VeraLayer*>(&m) != nullptr;
  }
  TargetFields target_fields(PeftConfig& config) const override;
  std::string bias_of(const PeftConfig& config) const override;
  /// Fills target_modules from TRANSFORMERS_MODELS_TO_VERA_TARGET_MODULES_MAPPING when None.
  void prepare_adapter_config(PeftConfig& config, const HfConfig* model_config) override;
  /// PEFT's _pre_injection_hook: draws the projections for the first adapter (sized by the
  /// largest targeted Linear / Conv1D: (max out, max in)).
  void prepare_model(PeftConfig& config, nn::Module& model) override;
  /// Also: one projection_prng_key and one save_projection value for all adapters.
  void check_new_adapter_config(const PeftConfig& config) const override;
  void create_and_replace(
      PeftConfig& config,
      const std::string& adapter,
      const nn::ModulePtr& target,
      const std::string& current_key,
      const std::optional<std::string>& parameter_name) override;
  /// VeRA layers take no per-sample adapter names: throws ValueError.
  void check_forward_adapter_names(const AdapterNames& names) const override;

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

  /// PEFT's _find_dim: (largest out_features, largest in_features) over the Linear / Conv1D
  /// modules `config` targets; throws when there is none.
  std::pair<std::int64_t, std::int64_t> find_dim(const PeftConfig& config);

 private:
  // The dotted name of this tuner inside `root` ("base_model" below a PeftModel).
  std::string name_in(nn::Module& root) const;

  std::shared_ptr<BufferDict> vera_A_;
  std::shared_ptr<BufferDict> vera_B_;
};

/// The VeRA layer for `target` (PEFT's _create_new_module); may flip config.fan_in_fan_out to
/// match the base layer type, with PEFT's warning.
std::shared_ptr<VeraLayer> create_new_module(
    VeraConfig& config,
    const std::shared_ptr<BufferDict>& vera_A,
    const std::shared_ptr<BufferDict>& vera_B,
    const std::string& adapter,
    const nn::ModulePtr& target);

/// PEFT's TRANSFORMERS_MODELS_TO_VERA_TARGET_MODULES_MAPPING (None for unknown model types).
ModuleNames default_vera_target_modules(const std::string& model_type);

/// Factory for the tuner registry.
std::shared_ptr<BaseTuner> make_vera_model(nn::ModulePtr model);

}  // namespace peftcpp::vera
