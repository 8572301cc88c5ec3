// LoHa layers: port of peft/tuners/loha/layer.py @5d602fd. Paper: FedPara, Hyeon-Woo et al.
// 2021, arXiv:2108.06098 (low-rank Hadamard product); LyCORIS, Yeh et al. 2023,
// arXiv:2309.14859.
//
// Per adapter the delta weight is the Hadamard (elementwise) product of two rank-r products,
//   dW = ((hada_w1_a @ hada_w1_b) * (hada_w2_a @ hada_w2_b)) * alpha / r,
// reshaped to the base weight; the layer adds op(x, dW) to the base output (lycoris/layer.h).
// Parameter shapes (PEFT's names, one ParameterDict each, keyed by adapter):
//   Linear [out, in]:            hada_w1_a / hada_w2_a [out, r], hada_w1_b / hada_w2_b [r, in]
//   Conv (flattened kernel):     the same with in = in_channels / groups * prod(kernel)
//   Conv, use_effective_conv2d:  hada_t1 / hada_t2 [r, r, kh, kw] (Conv1d: [r, r, k, 1]),
//                                hada_w1_a / hada_w2_a [r, out], hada_w1_b / hada_w2_b [r, in/g]
//                                and dW = rebuild_cp(t1, w1_a, w1_b) * rebuild_cp(t2, w2_a, w2_b)
//                                (FedPara's Proposition 3; not for 1x1 / k=1 kernels).
// PEFT's HadaWeight / HadaWeightCP autograd functions have hand-written backward passes; they
// are the plain derivatives of the same formulas, which autograd produces here.
#pragma once

#include <memory>
#include <string>

#include "peft/tuners/loha/config.h"
#include "peft/tuners/lycoris/layer.h"

namespace peftcpp::loha {

class LoHaLayer : public lycoris::LycorisLayer {
 public:
  /// Wraps `base_layer` (an nn::Linear / Conv1d / Conv2d, possibly inside another tuner layer)
  /// and adds `adapter`.
  LoHaLayer(
      std::shared_ptr<nn::UnaryModule> base_layer,
      const std::string& adapter,
      const LoHaConfig& config,
      int rank,
      double alpha);

  void update_layer(
      const std::string& adapter, int rank, double alpha, const LycorisConfig& config) override;
  Tensor get_delta_weight(const std::string& adapter) const override;

  /// init_weights=true: kaiming-uniform(a=sqrt(5)) everywhere except hada_w2_b = 0 (identity).
  void reset_adapter_parameters(const std::string& adapter);
  /// init_weights=false: kaiming-uniform(a=sqrt(5)) everywhere.
  void reset_adapter_parameters_random(const std::string& adapter);

 private:
  void create_adapter_parameters(const std::string& adapter, int rank, const Shape& shape);
};

/// ((w1a @ w1b) * (w2a @ w2b)) * scale (PEFT's make_weight / HadaWeight).
Tensor make_weight(
    const Tensor& w1a, const Tensor& w1b, const Tensor& w2a, const Tensor& w2b, double scale);
/// rebuild_cp(t1, w1a, w1b) * rebuild_cp(t2, w2a, w2b) * scale (make_weight_cp / HadaWeightCP).
Tensor make_weight_cp(
    const Tensor& t1,
    const Tensor& w1a,
    const Tensor& w1b,
    const Tensor& t2,
    const Tensor& w2a,
    const Tensor& w2b,
    double scale);

}  // namespace peftcpp::loha
