// LLaMA-family self-attention (transformers' <Prefix>Attention with eager_attention_forward):
// q/k/v/o projections, rotary embeddings, grouped-query attention without materialising the
// repeated keys (queries sharing a key/value head are batched into one product), the additive
// mask, and the KV cache (read, and appended in amortised O(1) per position).
#pragma once

#include <memory>

#include "models/llama/llama_settings.h"
#include "models/model.h"
#include "nn/module.h"
#include "nn/options.h"

namespace peftcpp::models::llama {

class LlamaAttention : public nn::Module {
 public:
  LlamaAttention(const LlamaSettings& s, std::int64_t layer_idx, const nn::FactoryOptions& fo);
  std::string type_name() const override {
    return prefix_ + "Attention";
  }
  /// hidden [B, T, hidden_size] -> [B, T, hidden_size]. cos/sin [1 or B, T, head_dim]; bias
  /// [B, 1, T, S] or undefined. `kv`: this layer's cache entry (null = none); when `append` the
  /// new keys/values are added to it, otherwise it is only read (prefix tuning without cache).
  Tensor forward(
      const Tensor& hidden,
      const Tensor& cos,
      const Tensor& sin,
      const Tensor& bias,
      LayerKV* kv,
      bool append);

  std::shared_ptr<nn::UnaryModule> q_proj, k_proj, v_proj, o_proj;

 private:
  std::string prefix_;
  std::int64_t num_heads_, num_kv_heads_, head_dim_;
  double scaling_, dropout_;
};

/// Appends k/v [B, H, T, D] to `entry` (an undefined entry starts empty). Without autograd the
/// entry lives in a buffer with spare capacity that is written in place when this entry is its
/// only user, so decoding is O(1) amortised per position; otherwise (a shared or differentiable
/// entry) the result is a fresh concatenation and the old tensors are left untouched.
void append_kv(LayerKV& entry, const Tensor& k, const Tensor& v);

}  // namespace peftcpp::models::llama
