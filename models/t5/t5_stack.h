// T5Block and T5Stack (the encoder or the decoder of T5). Port of transformers/models/t5/
// modeling_t5.py @9feae5fb (4.48.0.dev0).
//
// The stack builds the additive attention bias once and every block reuses it, as transformers
// passes the first block's position_bias on: relative position bias + mask (finfo.min where a
// key may not be attended). The encoder's buckets are bidirectional; the decoder's are causal,
// with queries at positions past .. past + T - 1 where `past` is what the cache already holds
// (earlier tokens, or prefix tuning's virtual tokens).
#pragma once

#include <memory>
#include <vector>

#include "models/t5/t5_layers.h"

namespace peftcpp::models::t5 {

/// layer = [T5LayerSelfAttention, (decoder) T5LayerCrossAttention, T5LayerFF].
class T5Block : public nn::Module {
 public:
  T5Block(const T5Config& config, bool is_decoder, bool has_relative_attention_bias);
  std::string type_name() const override {
    return "T5Block";
  }
  /// self_bias / cross_bias: added to the self- / cross-attention scores. self_cache /
  /// cross_cache: this block's cache entries (null = none); `update` stores the new keys/values.
  Tensor forward(
      const Tensor& hidden,
      const Tensor& self_bias,
      const Tensor& encoder_hidden_states,
      const Tensor& cross_bias,
      LayerKV* self_cache,
      LayerKV* cross_cache,
      bool update);

  /// layer.0, layer.1 (decoder only), the last entry (looked up in `layer` on each call, so a
  /// replaced entry is what runs).
  std::shared_ptr<T5LayerSelfAttention> self_attention() const;
  std::shared_ptr<T5LayerCrossAttention> cross_attention() const;
  std::shared_ptr<nn::UnaryModule> feed_forward() const;

  bool is_decoder;
  std::shared_ptr<nn::ModuleList> layer;
};

struct T5StackInputs {
  /// Exactly one of input_ids [B, T] / inputs_embeds [B, T, d_model].
  Tensor input_ids;
  Tensor inputs_embeds;
  /// [B, past + T] (decoder) or [B, T] (encoder); undefined = attend everywhere.
  Tensor attention_mask;
  /// Decoder only: the encoder output [B, S, d_model] and its mask [B, S].
  Tensor encoder_hidden_states;
  Tensor encoder_attention_mask;
  /// Decoder only: self (and cross) keys/values; extended when use_cache.
  KVCache* cache = nullptr;
  bool use_cache = false;
  bool output_hidden_states = false;
};

struct T5StackOutput {
  /// After the final layer norm (and dropout).
  Tensor last_hidden_state;
  /// num_layers + 1 entries when asked for: each block's input, then last_hidden_state.
  std::vector<Tensor> hidden_states;
};

class T5Stack : public nn::Module {
 public:
  /// `embed_tokens` is the model's shared embedding (registered here too, as transformers does,
  /// so state_dict() lists `encoder.embed_tokens.weight`).
  T5Stack(
      const T5Config& config,
      bool is_decoder,
      std::int64_t num_layers,
      std::shared_ptr<nn::UnaryModule> embed_tokens);
  std::string type_name() const override {
    return "T5Stack";
  }
  T5StackOutput forward(const T5StackInputs& inputs);

  /// block.i as a T5Block (throws naming it when something else was put there).
  std::shared_ptr<T5Block> block_at(std::int64_t i) const;

  bool is_decoder;
  std::shared_ptr<nn::UnaryModule> embed_tokens;
  std::shared_ptr<nn::ModuleList> block;
  std::shared_ptr<nn::UnaryModule> final_layer_norm;
  std::shared_ptr<nn::Dropout> dropout;

 private:
  // Position bias + masks for the self-attention scores: [B or 1, heads, T, past + T].
  Tensor self_attention_bias(const Tensor& embeds, const Tensor& mask, std::int64_t past);
};

}  // namespace peftcpp::models::t5
