// AdaLoraModel: the AdaLoRA tuner (port of peft/tuners/adalora/model.py @5d602fd). Paper:
// AdaLoRA, Zhang et al. 2023, "Adaptive Budget Allocation for Parameter-Efficient Fine-Tuning",
// ICLR 2023 (arXiv:2303.10512).
//
// A LoRA tuner (target matching, bias, per-architecture defaults) whose layers are SVDLinear /
// SVDConv2d with init_r triplets each. The first adapter, unless added in inference mode, is the
// trainable one: a RankAllocator is built for it, and one training step reads
//
//   Tensor loss = peft->add_regularization(task_loss);   // + orth_reg_weight * orth_reg_loss()
//   loss.backward();
//   optimizer.step();
//   adalora.update_and_allocate(step);                    // before zero_grad()
//   optimizer.zero_grad();
//
// update_and_allocate masks lora_E down to the scheduled budget and records the kept triplets
// in the config's rank_pattern ({"<layer>.lora_E.<adapter>": [bool, ...]}). save_pretrained then
// stores only the kept triplets (and rank_pattern without the adapter name); loading such an
// adapter first shrinks the layers to the pattern (resize_modules_by_rank_pattern). ranknum is
// never saved.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "peft/tuners/adalora/config.h"
#include "peft/tuners/adalora/layer.h"
#include "peft/tuners/adalora/rank_allocator.h"
#include "peft/tuners/lora/model.h"

namespace peftcpp::adalora {

class AdaLoraModel : public lora::LoraModel {
 public:
  explicit AdaLoraModel(nn::ModulePtr model) : lora::LoraModel(std::move(model)) {}
  std::string type_name() const override {
    return "AdaLoraModel";
  }
  bool is_tuner_layer(const nn::Module& m) const override {
    return dynamic_cast<const AdaLoraLayer*>(&m) != nullptr;
  }

  /// The first adapter becomes the trainable one (with its RankAllocator) unless it is in
  /// inference mode, then it is frozen (PEFT's AdaLoraModel.__init__).
  void add_adapter(const std::string& adapter, std::unique_ptr<PeftConfig> config) override;
  /// LoRA's checks, and at most one adapter that is not in inference mode.
  void check_new_adapter_config(const PeftConfig& config) const override;
  void create_and_replace(
      PeftConfig& config,
      const std::string& adapter,
      const nn::ModulePtr& target,
      const std::string& current_key,
      const std::optional<std::string>& parameter_name) override;
  /// AdaLoRA layers take no per-sample adapter names (throws ValueError).
  void check_forward_adapter_names(const AdapterNames& names) const override;

  /// LoRA's entries minus ranknum; with a rank_pattern, only the kept triplets (and the config's
  /// rank_pattern keys lose the adapter name, as PEFT rewrites them when saving).
  nn::StateDict adapter_state_dict(
      nn::Module& root,
      const PeftConfig& config,
      const std::string& adapter,
      const nn::StateDict& state) const override;
  /// Checkpoint keys -> model keys; with a rank_pattern the layers are shrunk to it first.
  nn::StateDict remap_adapter_state_dict_for_load(
      nn::Module& root,
      const PeftConfig& config,
      const std::string& adapter,
      const nn::StateDict& state) const override;

  // ---- AdaLoRA training -------------------------------------------------------------------
  /// The adapter being trained (throws ValueError when the first adapter was in inference mode).
  const std::string& trainable_adapter_name() const;
  RankAllocator& rank_allocator();
  /// Budget update after loss.backward() (and optimizer.step()), before zero_grad(): importance
  /// scores and masking until total_step - tfinal, the final allocation at that step (which
  /// resets the scores), then the recorded rank_pattern re-applied every later step.
  void update_and_allocate(std::int64_t global_step);
  /// Mean over the trainable adapter's lora_A / lora_B of ||P P^T - I||_F (A: A A^T, B: B^T B).
  Tensor orth_reg_loss() const;
  /// loss + orth_reg_weight * orth_reg_loss() (PEFT adds it to outputs.loss in forward).
  Tensor add_regularization(const Tensor& loss) const override;

  /// Shrinks each layer named in `rank_pattern` to its kept triplets (ranknum unchanged, so the
  /// scaling stays that of the initial rank).
  void resize_modules_by_rank_pattern(const Json& rank_pattern, const std::string& adapter);
  /// Keeps the rows of lora_E / lora_A and the columns of lora_B that `rank_pattern` marks true
  /// (keys `base_model.model.<layer>.<lora_X>.<adapter>` of a PeftModel state dict).
  nn::StateDict resize_state_dict_by_rank_pattern(
      const Json& rank_pattern, nn::StateDict state, const std::string& adapter) const;

 protected:
  std::vector<std::string> default_target_modules(const std::string& model_type) const override;

 private:
  std::optional<std::string> trainable_adapter_;
  std::unique_ptr<RankAllocator> rankallocator_;
};

/// The AdaLoRA layer for `target` (nn::Linear, transformers Conv1D or nn::Conv2d); flips
/// config.fan_in_fan_out to match the base layer type, as PEFT does (with a warning).
std::shared_ptr<AdaLoraLayer> create_new_module(
    AdaLoraConfig& config,
    const std::string& adapter,
    const nn::ModulePtr& target,
    const std::string& target_name);

/// Factory for the tuner registry.
std::shared_ptr<BaseTuner> make_adalora_model(nn::ModulePtr model);

}  // namespace peftcpp::adalora
