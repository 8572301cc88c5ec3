// torch.optim.Adam (L2 weight decay added to the gradient) and torch.optim.AdamW (decoupled
// decay p *= 1 - lr * wd before the moment update), both with bias correction, eps outside the
// square root and optional amsgrad (1.13 single-tensor semantics; see the golden README).
#pragma once

#include "nn/optim/optimizer.h"

namespace peftcpp::nn::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // AdamW's default is 0.01 (AdamWOptions)
  bool amsgrad = false;
  bool maximize = false;
};

struct AdamWOptions : AdamOptions {
  AdamWOptions() {
    weight_decay = 1e-2;
  }
};

class Adam : public Optimizer {
 public:
  Adam(const TensorList& params, const AdamOptions& options = {});
  Adam(const std::vector<ParamGroupSpec>& groups, const AdamOptions& options = {});
  std::string type_name() const override {
    return decoupled_ ? "AdamW" : "Adam";
  }

 protected:
  Adam(const std::vector<ParamGroupSpec>& groups, const AdamOptions& options, bool decoupled);
  void update(ParamGroup& group, Tensor& param, const Tensor& grad, ParamState& state) override;
  void validate(const ParamGroup& group) const override;

 private:
  bool decoupled_;
};

class AdamW : public Adam {
 public:
  AdamW(const TensorList& params, const AdamWOptions& options = {});
  AdamW(const std::vector<ParamGroupSpec>& groups, const AdamWOptions& options = {});
};

}  // namespace peftcpp::nn::optim
