// P-tuning: PromptEncoder (port of peft/tuners/p_tuning/model.py @5d602fd). Paper: Liu et al.
// 2021, "GPT Understands, Too", arXiv:2103.10385.
//
// A table of num_virtual_tokens * num_transformer_submodules embeddings of width token_dim
// (`embedding`), reparameterised by a head (encoder_reparameterization_type):
//   MLP   mlp_head = Linear(token_dim, H), ReLU, Linear(H, H), ReLU, Linear(H, token_dim)
//         (exactly these layers; encoder_num_layers is ignored with a warning);
//   LSTM  lstm_head = bidirectional LSTM(token_dim -> H, encoder_num_layers layers, dropout
//         encoder_dropout, batch_first), then mlp_head = Linear(2H, 2H), ReLU,
//         Linear(2H, token_dim);
// with H = encoder_hidden_size. The adapter file stores the head's output for all virtual
// tokens (`prompt_embeddings`); with inference_mode no head is built and the table holds it.
#pragma once

#include <memory>

#include "nn/containers.h"
#include "nn/layers/lstm.h"
#include "peft/tuners/base_tuner.h"
#include "peft/tuners/p_tuning/config.h"
#include "peft/tuners/prompt_learning/encoder.h"

namespace peftcpp::p_tuning {

class PromptEncoder : public prompt_learning::BasePromptEncoder {
 public:
  explicit PromptEncoder(const PromptEncoderConfig& config);
  std::string type_name() const override {
    return "PromptEncoder";
  }
  /// indices [B, n] -> head(embedding(indices)) [B, n, token_dim].
  Tensor forward(const Tensor& indices) override;

  const std::string& encoder_type() const {
    return encoder_type_;
  }
  std::int64_t token_dim() const {
    return token_dim_;
  }
  std::int64_t hidden_size() const {
    return hidden_size_;
  }
  std::int64_t total_virtual_tokens() const {
    return total_virtual_tokens_;
  }
  /// Null in inference mode (and lstm_head for the MLP type).
  const std::shared_ptr<nn::Sequential>& mlp_head() const {
    return mlp_head_;
  }
  const std::shared_ptr<nn::LSTM>& lstm_head() const {
    return lstm_head_;
  }

 private:
  std::string encoder_type_;
  std::int64_t token_dim_, hidden_size_, total_virtual_tokens_;
  std::shared_ptr<nn::LSTM> lstm_head_;
  std::shared_ptr<nn::Sequential> mlp_head_;
};

/// Factory for the tuner registry.
std::shared_ptr<BaseTuner> make_p_tuning_model(nn::ModulePtr model);

}  // namespace peftcpp::p_tuning
