// PromptEncoder (port of peft/tuners/p_tuning/model.py @5d602fd).
#include "peft/tuners/p_tuning/model.h"

#include <iostream>

#include "nn/layers/activation.h"
#include "nn/layers/linear.h"
#include "peft/tuners/prompt_learning/tuner.h"

namespace peftcpp::p_tuning {
namespace {

constexpr int kDefaultEncoderNumLayers = 2;  // PromptEncoderConfig.encoder_num_layers

std::shared_ptr<nn::UnaryModule> linear(std::int64_t in, std::int64_t out) {
  return std::make_shared<nn::Linear>(in, out);
}

}  // namespace

PromptEncoder::PromptEncoder(const PromptEncoderConfig& config)
    : encoder_type_(config.encoder_reparameterization_type) {
  PEFTCPP_CHECK(
      config.num_virtual_tokens && config.token_dim && config.num_transformer_submodules,
      "[p_tuning] num_virtual_tokens, token_dim and num_transformer_submodules must be set (they "
      "are filled from the model config when the adapter is added)");
  token_dim_ = *config.token_dim;
  total_virtual_tokens_ =
      static_cast<std::int64_t>(*config.num_virtual_tokens) * *config.num_transformer_submodules;
  hidden_size_ = config.encoder_hidden_size.value_or(0);
  set_embedding(std::make_shared<nn::Embedding>(total_virtual_tokens_, token_dim_));
  if (config.inference_mode)
    return;
  PEFTCPP_CHECK(
      hidden_size_ > 0, "[p_tuning] encoder_hidden_size must be set (a positive integer)");
  if (encoder_type_ == "LSTM") {
    lstm_head_ = std::make_shared<nn::LSTM>(
        token_dim_,
        hidden_size_,
        config.encoder_num_layers,
        /*bias=*/true,
        /*batch_first=*/true,
        config.encoder_dropout,
        /*bidirectional=*/true);
    register_module("lstm_head", &lstm_head_);
    mlp_head_ = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::UnaryModule>>{
        linear(hidden_size_ * 2, hidden_size_ * 2),
        std::make_shared<nn::ReLU>(),
        linear(hidden_size_ * 2, token_dim_)});
  } else if (encoder_type_ == "MLP") {
    if (config.encoder_num_layers != kDefaultEncoderNumLayers) {
      std::cerr << "[p_tuning] warning: for MLP, the argument `encoder_num_layers` is ignored. "
                   "Exactly "
                << kDefaultEncoderNumLayers << " MLP layers are used.\n";
    }
    mlp_head_ = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::UnaryModule>>{
        linear(token_dim_, hidden_size_),
        std::make_shared<nn::ReLU>(),
        linear(hidden_size_, hidden_size_),
        std::make_shared<nn::ReLU>(),
        linear(hidden_size_, token_dim_)});
  } else {
    throw ValueError(
        "[p_tuning] prompt encoder type not recognized. Please use one of MLP (recommended) or "
        "LSTM.");
  }
  register_module("mlp_head", &mlp_head_);
}

Tensor PromptEncoder::forward(const Tensor& indices) {
  PEFTCPP_CHECK(
      mlp_head_ != nullptr,
      "[p_tuning] the encoder was built in inference mode: it has no ",
      encoder_type_,
      " head, the table holds the prompt itself");
  const Tensor input_embeds = embedding_->forward(indices);
  if (lstm_head_ != nullptr)
    return mlp_head_->forward(lstm_head_->forward(input_embeds).output);
  return mlp_head_->forward(input_embeds);
}

std::shared_ptr<BaseTuner> make_p_tuning_model(nn::ModulePtr model) {
  return std::make_shared<prompt_learning::PromptLearningTuner>(
      std::move(model),
      PeftType::P_TUNING,
      "p_tuning_",
      [](const PromptLearningConfig& c, nn::UnaryModule& /*word_embeddings*/)
          -> std::shared_ptr<prompt_learning::BasePromptEncoder> {
        return std::make_shared<PromptEncoder>(c.as<PromptEncoderConfig>());
      });
}

}  // namespace peftcpp::p_tuning
