// What the LLaMA-family implementation needs from a config, read once from LlamaConfig,
// MistralConfig or Qwen2Config (transformers 4.48 semantics). The three families share one
// implementation; they differ only in the values gathered here:
//   llama:   q/k/v/o bias = attention_bias, mlp_bias, rope_scaling, head_dim;
//   mistral: no biases, sliding_window on every layer, head_dim, rope_scaling only as an extra key;
//   qwen2:   q/k/v bias (o_proj none), sliding_window on layers >= max_window_layers when
//            use_sliding_window, head size hidden_size / num_attention_heads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/json/hf_config.h"

namespace peftcpp::models::llama {

struct LlamaSettings {
  /// Class-name prefix: "Llama", "Mistral" or "Qwen2".
  std::string prefix;
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_layers = 0;
  std::int64_t num_heads = 0;
  std::int64_t num_kv_heads = 0;
  std::int64_t head_dim = 0;
  std::string hidden_act = "silu";
  double rms_norm_eps = 1e-6;
  double initializer_range = 0.02;
  double attention_dropout = 0.0;

  // Rotary embeddings (modeling_rope_utils).
  double rope_theta = 10000.0;
  /// null or the rope_scaling object ("rope_type" resolved).
  Json rope_scaling;
  std::int64_t max_position_embeddings = 2048;
  double partial_rotary_factor = 1.0;
  /// The top-level config key (Phi-3 style longrope); nullopt when absent.
  std::optional<std::int64_t> original_max_position_embeddings;

  bool qkv_bias = false;
  bool o_bias = false;
  bool mlp_bias = false;
  bool tie_word_embeddings = false;
  std::optional<std::int64_t> pad_token_id;
  /// Per layer: the sliding window size (keys within `window` positions of the query), or none.
  std::vector<std::optional<std::int64_t>> sliding_window;

  // Task heads.
  std::int64_t num_labels = 2;
  double classifier_dropout = 0.1;
  /// Attribute name of the base model inside XForQuestionAnswering ("transformer" for llama and
  /// qwen2, "model" for mistral).
  std::string qa_base_name = "transformer";

  /// "default", "linear", "dynamic", "yarn", "longrope" or "llama3".
  std::string rope_type() const;
  /// The rotated dims per head: int(head_dim * partial_rotary_factor).
  std::int64_t rotary_dim() const;
};

/// Reads `config` (a LlamaConfig, MistralConfig or Qwen2Config); throws ValueError naming the
/// config class and the offending value otherwise (e.g. heads not dividing, unknown rope type).
LlamaSettings llama_settings(const HfConfig& config);

}  // namespace peftcpp::models::llama
