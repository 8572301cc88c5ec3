// LoKr layers: port of peft/tuners/lokr/layer.py @5d602fd. Paper: LyCORIS (LoKr), Yeh et al.
// 2023, arXiv:2309.14859 (Kronecker-product adapters, after KronA / FedPara arXiv:2108.06098).
//
// Per adapter the delta weight is a Kronecker product, reshaped to the base weight:
//   dW = kron(w1, w2) * alpha / r,   w1 [a, c],  w2 [b, d] (or [b, d, k...] for convolutions)
// with out = a * b and in (/ groups) = c * d split by factorization(dim, decompose_factor).
// Each factor is a full matrix or a rank-r product (PEFT's names, one ParameterDict each):
//   w1 = lokr_w1                      unless decompose_both and r < max(a, c) / 2,
//      = lokr_w1_a [a, r] @ lokr_w1_b [r, c]   otherwise;
//   w2 = lokr_w2 [b, d(, k...)]       when r >= max(b, d) / 2,
//      = rebuild_cp(lokr_t2 [r, r, kh, kw], lokr_w2_a [r, b], lokr_w2_b [r, d])
//                                     for use_effective_conv2d on kernels > 1 (Conv1d: kw = 1),
//      = lokr_w2_a [b, r] @ lokr_w2_b [r, d * prod(k)]   otherwise.
// torch.kron's rules hold for mixed ranks (a 2-d w1 against a 3-d Conv1d w2 is padded to
// [1, a, c]); the result is then reshaped to the base weight row-major, exactly as PEFT does.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "peft/tuners/lokr/config.h"
#include "peft/tuners/lycoris/layer.h"

namespace peftcpp::lokr {

class LoKrLayer : public lycoris::LycorisLayer {
 public:
  /// Wraps `base_layer` (an nn::Linear / Conv1d / Conv2d, possibly inside another tuner layer)
  /// and adds `adapter`.
  LoKrLayer(
      std::shared_ptr<nn::UnaryModule> base_layer,
      const std::string& adapter,
      const LoKrConfig& config,
      int rank,
      double alpha);

  void update_layer(
      const std::string& adapter, int rank, double alpha, const LycorisConfig& config) override;
  Tensor get_delta_weight(const std::string& adapter) const override;

  /// init_weights=true: w1 (or w1_a) zero, the rest kaiming-uniform(a=sqrt(5)) (identity).
  void reset_adapter_parameters(const std::string& adapter);
  /// init_weights=false: kaiming-uniform(a=sqrt(5)) everywhere.
  void reset_adapter_parameters_random(const std::string& adapter);
  /// init_weights="lycoris": w2 (or w2_b) zero, the rest kaiming-uniform (identity).
  void reset_adapter_parameters_lycoris_way(const std::string& adapter);

 private:
  /// shape: {a, b} (out split), {c, d} (in split), kernel sizes.
  void create_adapter_parameters(
      const std::string& adapter,
      int rank,
      std::pair<std::int64_t, std::int64_t> out_split,
      std::pair<std::int64_t, std::int64_t> in_split,
      const std::vector<std::int64_t>& kernel,
      bool use_w1,
      bool use_w2,
      bool use_effective_conv2d);
};

/// Splits `dimension` into m * n with m <= n (PEFT's factorization, from LyCORIS): with
/// factor > 0 dividing it, (factor, dimension / factor); otherwise the divisor pair closest to
/// the square root whose smaller side does not exceed `factor` (-1: no limit).
/// factorization(256) = (16, 16), factorization(128) = (8, 16), factorization(127) = (1, 127).
std::pair<std::int64_t, std::int64_t> factorization(
    std::int64_t dimension, std::int64_t factor = -1);

/// kron(w1, w2) * scale, with w1 [a, c] lifted to [a, c, 1, 1] against a 4-d w2 (make_kron).
Tensor make_kron(const Tensor& w1, const Tensor& w2, double scale = 1.0);

}  // namespace peftcpp::lokr
