// torch.nn.LSTM: a multi-layer, optionally bidirectional long short-term memory network
// (P-tuning's `lstm_head`). Parameters carry PyTorch's names and layouts, so state dicts load
// unchanged: per layer k (and suffix "_reverse" for the backward direction) `weight_ih_l{k}`
// [4H, in], `weight_hh_l{k}` [4H, H], `bias_ih_l{k}` [4H], `bias_hh_l{k}` [4H], with the gates
// stacked in the order input, forget, cell, output (i, f, g, o).
//
// One step (PyTorch's formula):
//   gates = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh          -> i, f, g, o
//   c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g),  h_t = sigmoid(o) * tanh(c_t)
// The backward direction runs over the reversed sequence; a layer's output is [h_fwd, h_bwd]
// on the feature axis, which is the next layer's input. Dropout (training only) applies to the
// output of every layer but the last. Composed of tensor ops, so autograd differentiates it.
#pragma once

#include <cstdint>

#include "nn/module.h"
#include "nn/options.h"

namespace peftcpp::nn {

class LSTM : public Module {
 public:
  LSTM(
      std::int64_t input_size,
      std::int64_t hidden_size,
      std::int64_t num_layers = 1,
      bool bias = true,
      bool batch_first = false,
      double dropout = 0.0,
      bool bidirectional = false,
      const FactoryOptions& opts = {});
  std::string type_name() const override {
    return "LSTM";
  }
  std::string extra_repr() const override;

  struct Output {
    /// [T, B, D * H] (batch_first: [B, T, D * H]), D = 2 when bidirectional.
    Tensor output;
    /// Final hidden and cell states, [num_layers * D, B, H] (layer-major, forward first).
    Tensor h_n;
    Tensor c_n;
  };
  /// x: [T, B, input_size] ([B, T, input_size] when batch_first) or unbatched [T, input_size]
  /// (then the batch axis is absent from every output). Initial states are zeros.
  Output forward(const Tensor& x);
  /// With initial states h0, c0: [num_layers * D, B, H] (unbatched: [num_layers * D, H]).
  Output forward(const Tensor& x, const Tensor& h0, const Tensor& c0);

  /// Re-draws every parameter from U(-1/sqrt(H), 1/sqrt(H)), as PyTorch.
  void reset_parameters(Generator* gen = nullptr);

  std::int64_t input_size, hidden_size, num_layers;
  bool bias, batch_first;
  double dropout;
  bool bidirectional;
  /// Generator of the between-layer dropout masks (nullptr = the default generator).
  Generator* generator = nullptr;

 private:
  Tensor& param(const char* kind, std::int64_t layer, bool reverse);
};

}  // namespace peftcpp::nn
