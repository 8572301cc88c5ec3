// PrefixEncoder (port of peft/tuners/prefix_tuning/model.py @5d602fd).
#include "peft/tuners/prefix_tuning/model.h"

#include "nn/layers/activation.h"
#include "nn/layers/linear.h"
#include "peft/tuners/prompt_learning/tuner.h"

namespace peftcpp::prefix_tuning {

PrefixEncoder::PrefixEncoder(const PrefixTuningConfig& config)
    : prefix_projection_(config.prefix_projection) {
  PEFTCPP_CHECK(
      config.num_virtual_tokens && config.token_dim && config.num_layers,
      "[prefix_tuning] num_virtual_tokens, token_dim and num_layers must be set (they are "
      "filled from the model config when the adapter is added)");
  const std::int64_t nv = *config.num_virtual_tokens;
  const std::int64_t dim = *config.token_dim;
  const std::int64_t out = static_cast<std::int64_t>(*config.num_layers) * 2 * dim;
  const bool zero = config.init_weights == std::optional<std::string>("zero");
  if (prefix_projection_ && !config.inference_mode) {
    PEFTCPP_CHECK(
        config.encoder_hidden_size.has_value(),
        "[prefix_tuning] encoder_hidden_size must be set with prefix_projection");
    const std::int64_t hidden = *config.encoder_hidden_size;
    set_embedding(std::make_shared<nn::Embedding>(nv, dim));
    auto last = std::make_shared<nn::Linear>(hidden, out);
    if (zero) {
      last->weight.detach().zero_();
      last->bias.detach().zero_();
    }
    transform_ = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::UnaryModule>>{
        std::make_shared<nn::Linear>(dim, hidden), std::make_shared<nn::Tanh>(), last});
    register_module("transform", &transform_);
  } else {
    auto table = std::make_shared<nn::Embedding>(nv, out);
    if (zero)
      table->weight.detach().zero_();
    set_embedding(std::move(table));
  }
}

Tensor PrefixEncoder::forward(const Tensor& prefix) {
  if (prefix_projection_) {
    PEFTCPP_CHECK(
        transform_ != nullptr,
        "[prefix_tuning] the encoder was built in inference mode: it has no projection, the "
        "table holds the prefix itself");
    return transform_->forward(embedding_->forward(prefix));
  }
  return embedding_->forward(prefix);
}

void PrefixEncoder::load_prompt_embeddings(const Tensor& prompt_embeddings) {
  PEFTCPP_CHECK(
      !prefix_projection_,
      "[prefix_tuning] cannot load flattened prompt embeddings when `prefix_projection=True`");
  BasePromptEncoder::load_prompt_embeddings(prompt_embeddings);
}

std::shared_ptr<BaseTuner> make_prefix_tuning_model(nn::ModulePtr model) {
  return std::make_shared<prompt_learning::PromptLearningTuner>(
      std::move(model),
      PeftType::PREFIX_TUNING,
      "prefix_tuning_",
      [](const PromptLearningConfig& c, nn::UnaryModule& /*word_embeddings*/)
          -> std::shared_ptr<prompt_learning::BasePromptEncoder> {
        return std::make_shared<PrefixEncoder>(c.as<PrefixTuningConfig>());
      });
}

}  // namespace peftcpp::prefix_tuning
