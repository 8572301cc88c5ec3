#include "models/llama/decoder_layer.h"

#include "nn/layers/norm.h"
#include "tensor/ops.h"

namespace peftcpp::models::llama {

LlamaDecoderLayer::LlamaDecoderLayer(
    const LlamaSettings& s, std::int64_t layer_idx, const nn::FactoryOptions& fo)
    : prefix_(s.prefix) {
  self_attn = std::make_shared<LlamaAttention>(s, layer_idx, fo);
  mlp = std::make_shared<LlamaMLP>(s, fo);
  input_layernorm = std::make_shared<nn::RMSNorm>(s.hidden_size, s.rms_norm_eps, fo);
  post_attention_layernorm = std::make_shared<nn::RMSNorm>(s.hidden_size, s.rms_norm_eps, fo);
  register_module("self_attn", &self_attn);
  register_module("mlp", &mlp);
  register_module("input_layernorm", &input_layernorm);
  register_module("post_attention_layernorm", &post_attention_layernorm);
}

Tensor LlamaDecoderLayer::forward(
    const Tensor& hidden,
    const Tensor& cos,
    const Tensor& sin,
    const Tensor& bias,
    LayerKV* kv,
    bool append) {
  Tensor h =
      add(hidden, self_attn->forward(input_layernorm->forward(hidden), cos, sin, bias, kv, append));
  return add(h, mlp->forward(post_attention_layernorm->forward(h)));
}

}  // namespace peftcpp::models::llama
