// torch.optim.SGD (1.13 single-tensor semantics): L2 weight decay through the momentum,
// the first momentum buffer is a copy of the gradient (no dampening), Nesterov optional.
#pragma once

#include "nn/optim/optimizer.h"

namespace peftcpp::nn::optim {

struct SGDOptions {
  double lr = 1e-3;  // PyTorch requires it; pass your own
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
  bool maximize = false;
};

class SGD : public Optimizer {
 public:
  SGD(const TensorList& params, const SGDOptions& options);
  SGD(const std::vector<ParamGroupSpec>& groups, const SGDOptions& options);
  std::string type_name() const override {
    return "SGD";
  }

 protected:
  void update(ParamGroup& group, Tensor& param, const Tensor& grad, ParamState& state) override;
  void validate(const ParamGroup& group) const override;
};

}  // namespace peftcpp::nn::optim
