// Gradient clipping.
#include "nn/optim/clip_grad.h"

#include <cmath>
#include <limits>

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace peftcpp::nn {

double clip_grad_norm_(
    const TensorList& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  PEFTCPP_CHECK(norm_type > 0.0, "[clip_grad_norm_] norm_type must be positive, got ", norm_type);
  NoGradGuard ng;
  TensorList grads;
  for (const Tensor& p : params) {
    if (p.defined() && p.grad().defined())
      grads.push_back(p.grad());
  }
  if (grads.empty())
    return 0.0;
  const bool inf_norm = std::isinf(norm_type);
  // per-tensor norms gathered into one tensor of the grads' dtype (torch.stack), then its norm;
  // they stay on the grads' device: one host read in all (the returned total), not one per tensor
  const DType dt = grads[0].dtype();
  TensorList norms;
  for (const Tensor& g : grads) {
    norms.push_back((inf_norm ? amax(abs(g)) : norm(g, norm_type)).to(dt).reshape({1}));
  }
  Tensor stacked = cat(norms, 0);
  Tensor total = inf_norm ? amax(stacked) : norm(stacked, norm_type);
  const double total_v = total.item<double>();
  if (error_if_nonfinite) {
    PEFTCPP_CHECK(
        std::isfinite(total_v),
        "[clip_grad_norm_] the total norm of order ",
        norm_type,
        " of the gradients is non-finite (",
        total_v,
        "), so it cannot be clipped; pass ",
        "error_if_nonfinite=false to ignore");
  }
  // coef = clamp(max_norm / (total + 1e-6), max=1) in the grads' dtype
  Tensor coef = clamp_max(div(full({}, max_norm, dt, total.device()), add(total, 1e-6)), 1.0);
  for (Tensor& g : grads) g.mul_(coef.to(g.dtype()));
  return total_v;
}

void clip_grad_value_(const TensorList& params, double clip_value) {
  NoGradGuard ng;
  for (const Tensor& p : params) {
    if (!p.defined() || !p.grad().defined())
      continue;
    Tensor g = p.grad();
    g.copy_(clamp(g, -clip_value, clip_value));
  }
}

}  // namespace peftcpp::nn
