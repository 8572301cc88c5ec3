// The small models of the optimizer golden cases, built from meta.json (internal, not installed):
//   mlp:      out = lin_K(act(... act(lin_0(X))))
//   mlp_aux:  the same, plus aux(X) (no bias) in the steps listed in aux_used_in_steps
//   lora_mlp: every lin_i(x) = x W^T + b + scaling * (x A^T) B^T, with children lora_A / lora_B
// Parameter names are the cases' (lin0.weight, lin0.lora_A.weight, aux.weight, ...).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nn/layers/activation.h"
#include "nn/layers/linear.h"
#include "nn/module.h"

namespace peftcpp::nn::optim::golden_detail {

struct ParamSpec {
  std::string name;
  Shape shape;
  bool requires_grad = true;
};

class GoldenLoraLinear : public UnaryModule {
 public:
  GoldenLoraLinear(std::int64_t in, std::int64_t out, std::int64_t r, bool bias, double scaling);
  std::string type_name() const override {
    return "LoraLinear";
  }
  Tensor forward(const Tensor& x) override;

  Tensor weight, bias;
  std::shared_ptr<Linear> lora_A, lora_B;
  double scaling;
};

class GoldenNet : public Module {
 public:
  /// kind: "mlp", "mlp_aux" or "lora_mlp"; params in meta order; throws ValueError on anything
  /// this checker does not know.
  GoldenNet(
      const std::string& kind,
      const std::vector<ParamSpec>& params,
      const std::string& activation,
      double lora_scaling);
  std::string type_name() const override {
    return "GoldenNet";
  }
  Tensor forward(const Tensor& x, bool use_aux);

 private:
  std::vector<std::shared_ptr<UnaryModule>> layers_;
  std::shared_ptr<Linear> aux_;
  std::shared_ptr<Activation> act_;
};

}  // namespace peftcpp::nn::optim::golden_detail
