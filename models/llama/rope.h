// Rotary position embeddings of the LLaMA family with every rope_scaling variant transformers
// 4.48 supports for it (modeling_rope_utils.ROPE_INIT_FUNCTIONS): default, linear, dynamic (NTK,
// recomputed when positions exceed max_position_embeddings), yarn, longrope and llama3.
// Frequencies follow transformers' float32 arithmetic; cos/sin are computed in float32 and cast
// to the activations' dtype.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "models/llama/llama_settings.h"
#include "nn/module.h"

namespace peftcpp::models::llama {

struct RopeParameters {
  /// [rotary_dim / 2] inverse frequencies.
  std::vector<float> inv_freq;
  /// Factor applied to cos and sin (yarn, longrope); 1 otherwise.
  double attention_scaling = 1.0;
};

/// inv_freq and attention scaling of `s.rope_type()`. `seq_len` only matters for "dynamic"
/// (nullopt = max_position_embeddings, as at initialisation). Throws ValueError naming the
/// missing or invalid rope_scaling key.
RopeParameters compute_rope_parameters(
    const LlamaSettings& s, std::optional<std::int64_t> seq_len = std::nullopt);

/// transformers' <Prefix>RotaryEmbedding: the model's single rotary module (`model.rotary_emb`),
/// with inv_freq as a non-persistent buffer.
class LlamaRotaryEmbedding : public nn::Module {
 public:
  explicit LlamaRotaryEmbedding(const LlamaSettings& s);
  std::string type_name() const override {
    return prefix_ + "RotaryEmbedding";
  }
  /// position_ids int [B, T] -> cos, sin [B, T, head_dim] in `dtype`. For "dynamic" the
  /// frequencies follow the longest position seen, as transformers' _dynamic_frequency_update.
  std::pair<Tensor, Tensor> forward(const Tensor& position_ids, DType dtype);

  Tensor inv_freq;  // [head_dim / 2] float32
  double attention_scaling = 1.0;

 private:
  void dynamic_update(const Tensor& position_ids);

  LlamaSettings settings_;
  std::string prefix_;
  std::int64_t max_seq_len_cached_ = 0;
  std::int64_t original_max_seq_len_ = 0;
  Tensor original_inv_freq_;
};

}  // namespace peftcpp::models::llama
