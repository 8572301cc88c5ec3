// SGD.
#include "nn/optim/sgd.h"

#include "tensor/ops.h"

namespace peftcpp::nn::optim {
namespace {

ParamGroup sgd_defaults(const SGDOptions& o) {
  ParamGroup g;
  g.lr = o.lr;
  g.momentum = o.momentum;
  g.dampening = o.dampening;
  g.weight_decay = o.weight_decay;
  g.nesterov = o.nesterov;
  g.maximize = o.maximize;
  return g;
}

}  // namespace

SGD::SGD(const TensorList& params, const SGDOptions& options)
    : SGD(single_group(params), options) {}

SGD::SGD(const std::vector<ParamGroupSpec>& groups, const SGDOptions& options)
    : Optimizer(sgd_defaults(options)) {
  init_groups(groups);
}

void SGD::validate(const ParamGroup& g) const {
  PEFTCPP_CHECK(g.lr >= 0.0, "[optim] SGD: invalid learning rate ", g.lr);
  PEFTCPP_CHECK(g.momentum >= 0.0, "[optim] SGD: invalid momentum ", g.momentum);
  PEFTCPP_CHECK(g.weight_decay >= 0.0, "[optim] SGD: invalid weight_decay ", g.weight_decay);
  PEFTCPP_CHECK(
      !g.nesterov || (g.momentum > 0.0 && g.dampening == 0.0),
      "[optim] SGD: Nesterov momentum requires a momentum and zero dampening");
}

void SGD::update(ParamGroup& g, Tensor& p, const Tensor& grad, ParamState& state) {
  Tensor d = g.maximize ? neg(grad) : grad;
  if (g.weight_decay != 0.0)
    d = add(d, p.detach(), g.weight_decay);
  if (g.momentum != 0.0) {
    auto it = state.find("momentum_buffer");
    if (it == state.end()) {
      it = state.emplace("momentum_buffer", d.detach().clone()).first;
    } else {
      it->second.mul_(g.momentum).add_(d, 1.0 - g.dampening);
    }
    d = g.nesterov ? add(d, it->second, g.momentum) : it->second;
  }
  p.add_(d, -g.lr);
}

}  // namespace peftcpp::nn::optim
