// Rotary position embeddings as HF's LlamaRotaryEmbedding ("default" rope type, optional linear
// position scaling); apply them with functional::apply_rotary_pos_emb.
#pragma once

#include <utility>

#include "nn/module.h"

namespace peftcpp::nn {

class RotaryEmbedding : public Module {
 public:
  /// dim: the rotated head dim (even); inv_freq[i] = 1 / base^(2i / dim) in float32, kept as a
  /// non-persistent buffer (not in state_dict, as HF). linear_factor divides inv_freq (HF's
  /// "linear" rope scaling).
  explicit RotaryEmbedding(
      std::int64_t dim,
      double base = 10000.0,
      double linear_factor = 1.0,
      double attention_scaling = 1.0);
  std::string type_name() const override {
    return "RotaryEmbedding";
  }
  /// position_ids int [B, T] (or [T]) -> cos, sin [B, T, dim] in `dtype` (float32 math).
  std::pair<Tensor, Tensor> forward(const Tensor& position_ids, DType dtype = kFloat32);

  std::int64_t dim;
  double base, attention_scaling;
  Tensor inv_freq;  // [dim / 2] float32
};

}  // namespace peftcpp::nn
