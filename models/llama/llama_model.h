// The bare LLaMA-family decoder (<Prefix>Model): token embeddings, decoder layers, final RMSNorm
// and the shared rotary embedding. Parameter names are transformers' (`embed_tokens.weight`,
// `layers.0.self_attn.q_proj.weight`, `norm.weight`); the task heads hold it as `model` (or
// `transformer` for llama/qwen2 question answering).
#pragma once

#include <memory>

#include "models/llama/decoder_layer.h"
#include "models/llama/rope.h"
#include "models/model.h"
#include "nn/containers.h"

namespace peftcpp::models::llama {

class LlamaModel : public PreTrainedModel {
 public:
  LlamaModel(const HfConfig& config, const LlamaSettings& s, const nn::FactoryOptions& fo = {});
  std::string type_name() const override {
    return settings_.prefix + "Model";
  }
  /// last_hidden_state (after the final norm) and, when asked, num_layers + 1 hidden states.
  ModelOutput forward(const ModelInputs& inputs) override;
  const HfConfig& config() const override {
    return *config_;
  }
  nn::ModulePtr input_embeddings() override {
    return embed_tokens;
  }
  std::string layers_path() const override {
    return "layers";
  }
  const LlamaSettings& settings() const {
    return settings_;
  }
  void replicate_layers(const std::vector<std::pair<int, int>>& layer_map) override;

  std::shared_ptr<nn::UnaryModule> embed_tokens;
  std::shared_ptr<nn::ModuleList> layers;
  std::shared_ptr<nn::UnaryModule> norm;
  std::shared_ptr<LlamaRotaryEmbedding> rotary_emb;

 private:
  std::unique_ptr<HfConfig> config_;
  LlamaSettings settings_;
};

/// transformers' _init_weights for the family: every Linear ~ N(0, initializer_range) with zero
/// bias, every Embedding ~ N(0, initializer_range) with a zero padding row.
void init_llama_weights(nn::Module& root, double std, Generator* gen = nullptr);

}  // namespace peftcpp::models::llama
