// Adam / AdamW.
#include "nn/optim/adam.h"

#include <cmath>

#include "tensor/ops.h"
#include "tensor/ops/op_utils.h"

namespace peftcpp::nn::optim {
namespace {

ParamGroup adam_defaults(const AdamOptions& o) {
  ParamGroup g;
  g.lr = o.lr;
  g.beta1 = o.beta1;
  g.beta2 = o.beta2;
  g.eps = o.eps;
  g.weight_decay = o.weight_decay;
  g.amsgrad = o.amsgrad;
  g.maximize = o.maximize;
  return g;
}

Tensor& state_zeros(ParamState& state, const char* key, const Tensor& p) {
  auto it = state.find(key);
  if (it == state.end())
    it = state.emplace(key, zeros_like(p.detach())).first;
  return it->second;
}

}  // namespace

Adam::Adam(const TensorList& params, const AdamOptions& options)
    : Adam(single_group(params), options, false) {}
Adam::Adam(const std::vector<ParamGroupSpec>& groups, const AdamOptions& options)
    : Adam(groups, options, false) {}

Adam::Adam(const std::vector<ParamGroupSpec>& groups, const AdamOptions& options, bool decoupled)
    : Optimizer(adam_defaults(options)), decoupled_(decoupled) {
  init_groups(groups);
}

AdamW::AdamW(const TensorList& params, const AdamWOptions& options)
    : Adam(single_group(params), options, true) {}
AdamW::AdamW(const std::vector<ParamGroupSpec>& groups, const AdamWOptions& options)
    : Adam(groups, options, true) {}

void Adam::validate(const ParamGroup& g) const {
  const char* name = decoupled_ ? "AdamW" : "Adam";
  PEFTCPP_CHECK(g.lr >= 0.0, "[optim] ", name, ": invalid learning rate ", g.lr);
  PEFTCPP_CHECK(g.eps >= 0.0, "[optim] ", name, ": invalid epsilon ", g.eps);
  PEFTCPP_CHECK(g.beta1 >= 0.0 && g.beta1 < 1.0, "[optim] ", name, ": invalid beta1 ", g.beta1);
  PEFTCPP_CHECK(g.beta2 >= 0.0 && g.beta2 < 1.0, "[optim] ", name, ": invalid beta2 ", g.beta2);
  PEFTCPP_CHECK(g.weight_decay >= 0.0, "[optim] ", name, ": invalid weight_decay ", g.weight_decay);
}

void Adam::update(ParamGroup& g, Tensor& p, const Tensor& grad_in, ParamState& state) {
  Tensor& exp_avg = state_zeros(state, "exp_avg", p);
  Tensor& exp_avg_sq = state_zeros(state, "exp_avg_sq", p);
  Tensor* max_sq = g.amsgrad ? &state_zeros(state, "max_exp_avg_sq", p) : nullptr;
  const double step = bump_step(state, p);
  Backend& backend = ops_detail::backend_of(p);
  const auto fits = [&](const Tensor& t) { return t.dtype() == p.dtype() && t.is_contiguous(); };
  if (use_fused(backend, FusedOp::AdamStep, p.dtype()) && p.is_contiguous() && grad_in.dtype() == p.dtype() &&
      grad_in.device() == p.device() && fits(exp_avg) && fits(exp_avg_sq) && (!max_sq || fits(*max_sq))) {
    // one pass over the parameter, its gradient and its states (tensor/cpu/fused/fused_adam.cpp)
    AdamStepArgs a;
    a.lr = g.lr;
    a.beta1 = g.beta1;
    a.beta2 = g.beta2;
    a.eps = g.eps;
    a.weight_decay = g.weight_decay;
    a.step = step;
    a.decoupled = decoupled_;
    a.amsgrad = max_sq != nullptr;
    a.maximize = g.maximize;
    const Tensor grad = grad_in.contiguous();
    const TensorView none{nullptr, p.dtype(), p.shape(), p.strides()};
    backend.adam_step(view_of(p), view_of(grad), view_of(exp_avg), view_of(exp_avg_sq),
                      max_sq ? view_of(*max_sq) : none, a);
    for (const Tensor* t : std::initializer_list<const Tensor*>{&p, &exp_avg, &exp_avg_sq, max_sq})
      if (t != nullptr) t->storage()->bump_version();
    return;
  }
  Tensor grad = g.maximize ? neg(grad_in) : grad_in;
  if (decoupled_) {
    p.mul_(1.0 - g.lr * g.weight_decay);
  } else if (g.weight_decay != 0.0) {
    grad = add(grad, p.detach(), g.weight_decay);
  }
  exp_avg.mul_(g.beta1).add_(grad, 1.0 - g.beta1);
  exp_avg_sq.mul_(g.beta2).add_(mul(grad, grad), 1.0 - g.beta2);
  const double bc1 = 1.0 - std::pow(g.beta1, step);
  const double bc2 = 1.0 - std::pow(g.beta2, step);
  const double step_size = g.lr / bc1;
  const double bc2_sqrt = std::sqrt(bc2);
  Tensor v = exp_avg_sq;
  if (max_sq) {
    max_sq->copy_(maximum(*max_sq, exp_avg_sq));
    v = *max_sq;
  }
  Tensor denom = add(div(sqrt(v), bc2_sqrt), g.eps);
  p.add_(div(exp_avg, denom), -step_size);
}

}  // namespace peftcpp::nn::optim
