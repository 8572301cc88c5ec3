// Multi-head self-attention with grouped-query heads, rotary positions, causal and padding masks.
//
// Projections are separate Linear children named as HuggingFace decoders name them (q_proj,
// k_proj, v_proj, o_proj) and held through UnaryModule slots, so PEFT can wrap them. The model
// zoo (models/) builds its family-specific attention from the same functional pieces; this
// module is the generic building block for users' own models.
#pragma once

#include <memory>
#include <optional>

#include "nn/layers/rotary.h"
#include "nn/module.h"
#include "nn/options.h"

namespace peftcpp::nn {

struct MultiHeadAttentionOptions {
  std::int64_t embed_dim = 0;
  std::int64_t num_heads = 1;
  /// Key/value heads for grouped-query attention (num_heads % num_kv_heads == 0); 0 = num_heads.
  std::int64_t num_kv_heads = 0;
  bool bias = true;
  /// Apply rotary position embeddings to q and k (rope_theta = base).
  bool rotary = false;
  double rope_theta = 10000.0;
  /// Dropout on the attention probabilities, in training mode only.
  double dropout = 0.0;
};

class MultiHeadAttention : public Module {
 public:
  explicit MultiHeadAttention(const MultiHeadAttentionOptions& options,
                              const FactoryOptions& factory = {});
  std::string type_name() const override {
    return "MultiHeadAttention";
  }
  std::string extra_repr() const override;

  /// x [B, T, embed_dim] -> [B, T, embed_dim]. padding_mask [B, T] (nonzero = real token, 0 =
  /// padding: no query attends to it); causal: query i sees keys 0..i; position_ids int64
  /// [B, T] or [T] for the rotary angles (default 0..T-1). A query whose keys are all masked
  /// gets zeros, never NaN.
  Tensor forward(const Tensor& x, const Tensor& padding_mask = Tensor(), bool causal = false,
                 const Tensor& position_ids = Tensor());

  MultiHeadAttentionOptions options;
  std::int64_t head_dim;
  std::shared_ptr<UnaryModule> q_proj, k_proj, v_proj, o_proj;
  std::shared_ptr<RotaryEmbedding> rotary_emb;  // null without rotary
  Generator* generator = nullptr;               // for attention dropout
};

}  // namespace peftcpp::nn
