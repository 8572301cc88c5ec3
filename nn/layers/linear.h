// Linear (torch.nn.Linear), transformers' Conv1D (GPT-2's transposed linear) and Identity.
#pragma once

#include "nn/module.h"
#include "nn/options.h"

namespace peftcpp::nn {

/// y = x @ weight^T + bias, weight [out_features, in_features]. Initialised as PyTorch:
/// kaiming_uniform_(a = sqrt(5)) (= U(-1/sqrt(in), 1/sqrt(in))) and bias U(-1/sqrt(in),
/// 1/sqrt(in)).
class Linear : public UnaryModule {
 public:
  Linear(
      std::int64_t in_features,
      std::int64_t out_features,
      bool bias = true,
      const FactoryOptions& opts = {});
  std::string type_name() const override {
    return "Linear";
  }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& x) override;
  /// Re-draws weight and bias with the default initialisation.
  void reset_parameters(Generator* gen = nullptr);

  std::int64_t in_features, out_features;
  Tensor weight;
  Tensor bias;  // undefined without bias
};

/// transformers.pytorch_utils.Conv1D: y = x @ weight + bias with weight [nx (in), nf (out)],
/// weight ~ N(0, 0.02), bias = 0 (GPT-2's c_attn / c_proj / c_fc).
class Conv1D : public UnaryModule {
 public:
  Conv1D(std::int64_t nf, std::int64_t nx, const FactoryOptions& opts = {});
  std::string type_name() const override {
    return "Conv1D";
  }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& x) override;

  std::int64_t nf, nx;
  Tensor weight;  // [nx, nf]
  Tensor bias;    // [nf]
};

/// Returns its input.
class Identity : public UnaryModule {
 public:
  std::string type_name() const override {
    return "Identity";
  }
  Tensor forward(const Tensor& x) override {
    return x;
  }
};

}  // namespace peftcpp::nn
