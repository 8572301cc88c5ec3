// Prefix tuning: PrefixEncoder (port of peft/tuners/prefix_tuning/model.py @5d602fd). Paper:
// Li & Liang 2021, "Prefix-Tuning: Optimizing Continuous Prompts for Generation",
// arXiv:2101.00190.
//
// Encodes num_virtual_tokens virtual tokens into the keys and values of every attention layer:
// output [B, num_virtual_tokens, num_layers * 2 * token_dim]. Without prefix_projection the
// output is the table `embedding` itself; with it, a table of width token_dim goes through
// `transform` = Linear(token_dim, encoder_hidden_size), Tanh, Linear(encoder_hidden_size,
// num_layers * 2 * token_dim). init_weights "zero" zeroes the last layer (or the table). With
// inference_mode only the output-sized table exists (it holds a saved `prompt_embeddings`).
// PeftModel turns the output into per-layer past key/values (peft/tuners/prompt_learning).
#pragma once

#include <memory>

#include "nn/containers.h"
#include "peft/tuners/base_tuner.h"
#include "peft/tuners/prefix_tuning/config.h"
#include "peft/tuners/prompt_learning/encoder.h"

namespace peftcpp::prefix_tuning {

class PrefixEncoder : public prompt_learning::BasePromptEncoder {
 public:
  explicit PrefixEncoder(const PrefixTuningConfig& config);
  std::string type_name() const override {
    return "PrefixEncoder";
  }
  Tensor forward(const Tensor& prefix) override;
  /// Loads flattened key/value prompt embeddings (PEFT's load_prompt_embeddings): only possible
  /// without prefix_projection (the projection cannot be inverted); ValueError otherwise. (Loading
  /// an adapter file fills the table through the state dict, also in inference mode.)
  void load_prompt_embeddings(const Tensor& prompt_embeddings) override;

  bool prefix_projection() const {
    return prefix_projection_;
  }
  /// The projection MLP (null without prefix_projection or in inference mode).
  const std::shared_ptr<nn::Sequential>& transform() const {
    return transform_;
  }

 private:
  bool prefix_projection_;
  std::shared_ptr<nn::Sequential> transform_;
};

/// Factory for the tuner registry.
std::shared_ptr<BaseTuner> make_prefix_tuning_model(nn::ModulePtr model);

}  // namespace peftcpp::prefix_tuning
