// T5's building blocks: T5LayerNorm, the feed-forward variants, T5Attention and the relative
// position buckets. Port of transformers/models/t5/modeling_t5.py @9feae5fb (4.48.0.dev0).
//
// Module and parameter names are transformers' (`SelfAttention.q`, `DenseReluDense.wi_0`,
// `relative_attention_bias`, `layer_norm`), and every Linear / Embedding is a typed
// UnaryModule member so PEFT can swap q/k/v/o/wi/wo for tuner layers with replace_child.
//
// T5 does not scale q.k by 1/sqrt(d_kv) (the scale is folded into the initialisation of q); the
// relative position bias (plus the additive masks) is added to the scores instead.
#pragma once

#include <cstdint>
#include <memory>

#include "io/json/hf_config.h"
#include "models/model.h"
#include "nn/containers.h"
#include "nn/layers/activation.h"
#include "nn/layers/embedding.h"
#include "nn/module.h"

namespace peftcpp::models::t5 {

/// transformers' T5Attention._relative_position_bucket for one relative position (memory
/// position - query position). Bidirectional buckets split num_buckets between the two signs;
/// unidirectional ones map every positive distance to bucket 0. Half of the (per-sign) buckets
/// are exact distances, the rest grow logarithmically up to max_distance (float32 arithmetic,
/// as torch computes it).
std::int64_t relative_position_bucket(
    std::int64_t relative_position,
    bool bidirectional,
    std::int64_t num_buckets,
    std::int64_t max_distance);

/// Buckets of queries at positions offset .. offset + query_length - 1 against keys 0 ..
/// key_length - 1: int64 [query_length, key_length].
Tensor relative_position_buckets(
    std::int64_t query_length,
    std::int64_t key_length,
    std::int64_t offset,
    bool bidirectional,
    std::int64_t num_buckets,
    std::int64_t max_distance);


/// RMS norm without mean and bias: weight * x * rsqrt(mean(x^2) + eps), statistics in float32,
/// cast to the weight dtype when that is 16-bit (T5LayerNorm).
class T5LayerNorm : public nn::UnaryModule {
 public:
  T5LayerNorm(std::int64_t hidden_size, double eps);
  std::string type_name() const override {
    return "T5LayerNorm";
  }
  Tensor forward(const Tensor& x) override;

  double eps;
  Tensor weight;  // [hidden_size], ones
};

/// wo(dropout(act(wi(x)))): T5DenseActDense (config.is_gated_act false).
class T5DenseActDense : public nn::UnaryModule {
 public:
  explicit T5DenseActDense(const T5Config& config);
  std::string type_name() const override {
    return "T5DenseActDense";
  }
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<nn::UnaryModule> wi, wo;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Activation> act;
};

/// wo(dropout(act(wi_0(x)) * wi_1(x))): T5DenseGatedActDense ("gated-gelu", "gated-silu", ...).
class T5DenseGatedActDense : public nn::UnaryModule {
 public:
  explicit T5DenseGatedActDense(const T5Config& config);
  std::string type_name() const override {
    return "T5DenseGatedActDense";
  }
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<nn::UnaryModule> wi_0, wi_1, wo;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Activation> act;
};

/// x + dropout(DenseReluDense(layer_norm(x))).
class T5LayerFF : public nn::UnaryModule {
 public:
  explicit T5LayerFF(const T5Config& config);
  std::string type_name() const override {
    return "T5LayerFF";
  }
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<nn::UnaryModule> DenseReluDense;  // NOLINT: transformers' name
  std::shared_ptr<nn::UnaryModule> layer_norm;
  std::shared_ptr<nn::Dropout> dropout;
};

/// Multi-head attention without score scaling. q/k/v [d_model -> heads * d_kv], o back.
class T5Attention : public nn::Module {
 public:
  T5Attention(const T5Config& config, bool has_relative_attention_bias);
  std::string type_name() const override {
    return "T5Attention";
  }

  /// Relative position bias [1, heads, query_length, key_length] for queries at positions
  /// offset .. offset + query_length - 1 (bidirectional for the encoder, causal buckets for the
  /// decoder). Only for the layer that has relative_attention_bias.
  Tensor compute_bias(
      std::int64_t query_length, std::int64_t key_length, std::int64_t offset, bool bidirectional);

  /// hidden [B, T, d_model] -> [B, T, d_model].
  /// key_value_states: the encoder output [B, S, d_model] for cross-attention (may be undefined
  /// when the cache holds this layer's cross keys/values), ignored by self-attention. bias: added
  /// to the scores, broadcastable to [B, heads, T, keys] (position bias plus the additive mask);
  /// keys = cached + T for self-attention, S for cross-attention. cache: this layer's entry or
  /// null. Self-attention prepends the cached keys/values (prefix or earlier positions) and, when
  /// `update`, stores the concatenation; cross-attention reuses cached keys/values when present and
  /// otherwise computes them (storing them when `update`).
  Tensor forward(
      const Tensor& hidden,
      const Tensor& key_value_states,
      const Tensor& bias,
      LayerKV* cache,
      bool update);

  std::int64_t n_heads, key_value_proj_dim, relative_attention_num_buckets,
      relative_attention_max_distance;
  double dropout_p;
  /// EncDecAttention: keys/values come from the encoder output.
  bool is_cross_attention = false;
  std::shared_ptr<nn::UnaryModule> q, k, v, o;
  /// Embedding [num_buckets, heads]; null except in the first block of each stack.
  std::shared_ptr<nn::UnaryModule> relative_attention_bias;

 private:
  // [B, T, heads * d_kv] -> [B, heads, T, d_kv]
  Tensor split_heads(const Tensor& x) const;
};

/// x + dropout(SelfAttention(layer_norm(x), ...)).
class T5LayerSelfAttention : public nn::Module {
 public:
  T5LayerSelfAttention(const T5Config& config, bool has_relative_attention_bias);
  std::string type_name() const override {
    return "T5LayerSelfAttention";
  }
  Tensor forward(const Tensor& hidden, const Tensor& bias, LayerKV* cache, bool update);

  std::shared_ptr<T5Attention> SelfAttention;  // NOLINT: transformers' name
  std::shared_ptr<nn::UnaryModule> layer_norm;
  std::shared_ptr<nn::Dropout> dropout;
};

/// x + dropout(EncDecAttention(layer_norm(x), encoder_hidden_states, ...)).
class T5LayerCrossAttention : public nn::Module {
 public:
  explicit T5LayerCrossAttention(const T5Config& config);
  std::string type_name() const override {
    return "T5LayerCrossAttention";
  }
  Tensor forward(
      const Tensor& hidden,
      const Tensor& encoder_hidden_states,
      const Tensor& bias,
      LayerKV* cache,
      bool update);

  std::shared_ptr<T5Attention> EncDecAttention;  // NOLINT: transformers' name
  std::shared_ptr<nn::UnaryModule> layer_norm;
  std::shared_ptr<nn::Dropout> dropout;
};

}  // namespace peftcpp::models::t5
