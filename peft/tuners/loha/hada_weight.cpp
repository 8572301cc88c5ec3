// LoHa delta weights (port of make_weight / HadaWeight and make_weight_cp / HadaWeightCP in
// peft/tuners/loha/layer.py @5d602fd, which copies LyCORIS' loha.py).
//
// HadaWeight's hand-written backward is the exact derivative of its formula, so make_weight is
// composed from ops and autograd differentiates it. HadaWeightCP's is not: for w1_a it contracts
// the upstream gradient with the *second* factor's partial rebuild einsum(t2, w2_b) (and for
// w2_a with the first's), where the derivative needs the factor's own one. Trained LoHa adapters
// with use_effective_conv2d follow that rule, so make_weight_cp records it as its backward (the
// other four gradients are exact). The two coincide when t1 = t2 and w1_b = w2_b.
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "peft/tuners/loha/layer.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::loha {
namespace {

// t [i, j, k, l], w [j, r] -> [i, r, k, l] (einsum "i j k l, j r -> i r k l")
Tensor contract_in(const Tensor& t, const Tensor& w) {
  return matmul(t.permute({0, 2, 3, 1}), w).permute({0, 3, 1, 2}).contiguous();
}

// temp [i, r, k, l], wa [i, p] -> [p, r, k, l] (einsum "i j k l, i r -> r j k l")
Tensor contract_out(const Tensor& temp, const Tensor& wa) {
  const Shape s = temp.shape();
  return matmul(wa.t(), temp.reshape({s[0], -1})).reshape({wa.size(1), s[1], s[2], s[3]});
}

// Gradients of one factor (t, wa, wb) given grad_w = d out / d rebuild of this factor and the
// partial rebuild `temp` used for d wa (see the file comment): {d t, d wa, d wb}.
TensorList factor_grads(
    const Tensor& t, const Tensor& wa, const Tensor& wb, const Tensor& temp, const Tensor& grad_w) {
  const std::int64_t p = grad_w.size(0);
  const Tensor gw = grad_w.reshape({p, -1});                                // [p, r k l]
  const Tensor grad_wa = matmul(temp.reshape({temp.size(0), -1}), gw.t());  // [i, p]
  const Shape ts = {wa.size(0), grad_w.size(1), grad_w.size(2), grad_w.size(3)};
  const Tensor grad_temp = matmul(wa, gw).reshape(ts);  // [i, r, k, l]
  const Tensor gt = grad_temp.permute({0, 2, 3, 1});    // [i, k, l, r]
  const Tensor grad_wb = matmul(
      t.permute({1, 0, 2, 3}).reshape({t.size(1), -1}), gt.reshape({-1, gt.size(3)}));  // [j, r]
  const Tensor grad_t = matmul(gt, wb.t()).permute({0, 3, 1, 2});  // [i, j, k, l]
  return {grad_t, grad_wa, grad_wb};
}

}  // namespace

Tensor make_weight(
    const Tensor& w1a, const Tensor& w1b, const Tensor& w2a, const Tensor& w2b, double scale) {
  return matmul(w1a, w1b) * matmul(w2a, w2b) * scale;
}

Tensor make_weight_cp(
    const Tensor& t1,
    const Tensor& w1a,
    const Tensor& w1b,
    const Tensor& t2,
    const Tensor& w2a,
    const Tensor& w2b,
    double scale) {
  Tensor out;
  {
    NoGradGuard g;
    out = lycoris::rebuild_cp(t1.detach(), w1a.detach(), w1b.detach()) *
          lycoris::rebuild_cp(t2.detach(), w2a.detach(), w2b.detach()) * scale;
  }
  const TensorList inputs = {t1, w1a, w1b, t2, w2a, w2b};
  if (!any_requires_grad(inputs))
    return out;
  TensorList outs{out};
  TensorList saved;
  for (const Tensor& x : inputs) saved.push_back(x.detach());
  record_function("HadaWeightCPBackward", inputs, outs, [saved, scale](const TensorList& g) {
    const Tensor &t1 = saved[0], &w1a = saved[1], &w1b = saved[2];
    const Tensor &t2 = saved[3], &w2a = saved[4], &w2b = saved[5];
    const Tensor go = g[0] * scale;
    const Tensor temp1 = contract_in(t1, w1b);
    const Tensor temp2 = contract_in(t2, w2b);
    // PEFT: d w1_a uses temp2 and d w2_a uses temp1 (see the file comment)
    const TensorList g1 = factor_grads(t1, w1a, w1b, temp2, contract_out(temp2, w2a) * go);
    const TensorList g2 = factor_grads(t2, w2a, w2b, temp1, contract_out(temp1, w1a) * go);
    return TensorList{g1[0], g1[1], g1[2], g2[0], g2[1], g2[2]};
  });
  return outs[0];
}

}  // namespace peftcpp::loha
