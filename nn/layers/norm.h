// torch.nn.LayerNorm and LLaMA-style RMSNorm.
#pragma once

#include "nn/module.h"
#include "nn/options.h"

namespace peftcpp::nn {

/// Normalises over the trailing `normalized_shape` dims; weight = 1, bias = 0 when affine.
class LayerNorm : public UnaryModule {
 public:
  LayerNorm(
      Shape normalized_shape,
      double eps = 1e-5,
      bool elementwise_affine = true,
      bool bias = true,
      const FactoryOptions& opts = {});
  LayerNorm(
      std::int64_t normalized_size,
      double eps = 1e-5,
      bool elementwise_affine = true,
      bool bias = true,
      const FactoryOptions& opts = {})
      : LayerNorm(Shape{normalized_size}, eps, elementwise_affine, bias, opts) {}
  std::string type_name() const override {
    return "LayerNorm";
  }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& x) override;

  Shape normalized_shape;
  double eps;
  bool elementwise_affine;
  Tensor weight;  // undefined when !elementwise_affine
  Tensor bias;    // undefined when !elementwise_affine or !bias
};

/// x * rsqrt(mean(x^2, -1) + eps) * weight, statistics in float32 (HF LlamaRMSNorm).
class RMSNorm : public UnaryModule {
 public:
  explicit RMSNorm(std::int64_t hidden_size, double eps = 1e-6, const FactoryOptions& opts = {});
  std::string type_name() const override {
    return "RMSNorm";
  }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& x) override;

  std::int64_t hidden_size;
  double eps;
  Tensor weight;
};

}  // namespace peftcpp::nn
