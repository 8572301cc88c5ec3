// One LLaMA-family decoder layer (<Prefix>DecoderLayer): pre-norm attention and pre-norm MLP,
// each added back to the residual stream.
#pragma once

#include <memory>

#include "models/llama/attention.h"
#include "models/llama/mlp.h"

namespace peftcpp::models::llama {

class LlamaDecoderLayer : public nn::Module {
 public:
  LlamaDecoderLayer(const LlamaSettings& s, std::int64_t layer_idx, const nn::FactoryOptions& fo);
  std::string type_name() const override {
    return prefix_ + "DecoderLayer";
  }
  /// See LlamaAttention::forward for the arguments.
  Tensor forward(
      const Tensor& hidden,
      const Tensor& cos,
      const Tensor& sin,
      const Tensor& bias,
      LayerKV* kv,
      bool append);

  std::shared_ptr<LlamaAttention> self_attn;
  std::shared_ptr<nn::UnaryModule> mlp, input_layernorm, post_attention_layernorm;

 private:
  std::string prefix_;
};

}  // namespace peftcpp::models::llama
