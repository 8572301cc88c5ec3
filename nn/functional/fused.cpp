// Autograd nodes over the fused kernels: each saves what its backward kernel reads (the input
// and a per-row statistic) and returns gradients only for inputs that require them.
#include "nn/functional/fused.h"

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "tensor/ops.h"
#include "tensor/ops/op_utils.h"

namespace peftcpp::nn::functional::fused {

using ops_detail::backend_of;

Tensor fused_rms_norm(const Tensor& x_in, const Tensor& weight, double eps) {
  const Tensor x = x_in.detach().contiguous();
  const Tensor w = weight.defined() ? weight.detach().contiguous() : Tensor();
  const std::int64_t n = x.size(-1);
  const std::int64_t rows = n == 0 ? 0 : x.numel() / n;
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  Tensor rstd = empty({rows}, x.dtype(), x.device());
  const TensorView no_weight{nullptr, x.dtype(), {n}, {1}};
  backend_of(x).rms_norm(view_of(x), w.defined() ? view_of(w) : no_weight, eps, view_of(y), view_of(rstd));
  TensorList ins{x_in};
  if (weight.defined()) ins.push_back(weight);
  if (!any_requires_grad(ins)) return y;
  const bool want_w = weight.defined() && weight.requires_grad();
  SavedTensor sx(x), sw(w);
  TensorList outs{y};
  record_function("RmsNormBackward", ins, outs, [sx, sw, rstd, want_w, n](const TensorList& g) -> TensorList {
    const Tensor x = sx.get("rms_norm");
    const Tensor w = sw.defined() ? sw.get("rms_norm") : Tensor();
    const Tensor go = g[0].contiguous();
    Tensor gx = empty(x.shape(), x.dtype(), x.device());
    Tensor gw = want_w ? empty({n}, x.dtype(), x.device()) : Tensor();
    const TensorView none{nullptr, x.dtype(), {n}, {1}};
    backend_of(x).rms_norm_backward(view_of(go), view_of(x), w.defined() ? view_of(w) : none, view_of(rstd),
                                    view_of(gx), want_w ? view_of(gw) : none);
    TensorList grads{gx};
    if (w.defined()) grads.push_back(gw);
    return grads;
  });
  return outs[0];
}

namespace {
// cos/sin [B or 1, T, D] as views broadcast over x's batch.
TensorView table_view(const Tensor& t, std::int64_t batch) {
  TensorView v = view_of(t);
  if (v.shape[0] == 1 && batch != 1) {
    v.shape[0] = batch;
    v.strides[0] = 0;
  }
  return v;
}
}  // namespace

Tensor fused_rotary(const Tensor& x, const Tensor& cos_in, const Tensor& sin_in) {
  const Tensor cos = cos_in.detach(), sin = sin_in.detach();
  const std::int64_t batch = x.size(0);
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  backend_of(x).rotary(view_of(x.detach()), table_view(cos, batch), table_view(sin, batch), view_of(out), false);
  if (!any_requires_grad({x})) return out;
  TensorList outs{out};
  record_function("RotaryBackward", {x}, outs, [cos, sin, batch](const TensorList& g) -> TensorList {
    Tensor gx = empty(g[0].shape(), g[0].dtype(), g[0].device());
    backend_of(gx).rotary(view_of(g[0]), table_view(cos, batch), table_view(sin, batch), view_of(gx), true);
    return {gx};
  });
  return outs[0];
}

Tensor fused_silu_mul(const Tensor& gate_in, const Tensor& up_in) {
  const Tensor gate = gate_in.detach().contiguous(), up = up_in.detach().contiguous();
  Tensor out = empty(gate.shape(), gate.dtype(), gate.device());
  backend_of(gate).silu_mul(view_of(gate), view_of(up), view_of(out));
  if (!any_requires_grad({gate_in, up_in})) return out;
  const bool want_gate = gate_in.requires_grad(), want_up = up_in.requires_grad();
  SavedTensor sg(gate), su(up);
  TensorList outs{out};
  record_function("SiluMulBackward", {gate_in, up_in}, outs,
                  [sg, su, want_gate, want_up](const TensorList& g) -> TensorList {
                    const Tensor gate = sg.get("silu_mul"), up = su.get("silu_mul");
                    const Tensor go = g[0].contiguous();
                    Tensor dg = want_gate ? empty(gate.shape(), gate.dtype(), gate.device()) : Tensor();
                    Tensor du = want_up ? empty(gate.shape(), gate.dtype(), gate.device()) : Tensor();
                    const TensorView none{nullptr, gate.dtype(), gate.shape(), gate.strides()};
                    backend_of(gate).silu_mul_backward(view_of(go), view_of(gate), view_of(up),
                                                       want_gate ? view_of(dg) : none, want_up ? view_of(du) : none);
                    return {dg, du};
                  });
  return outs[0];
}

Tensor fused_cross_entropy(const Tensor& logits_in, const Tensor& target_in, std::int64_t ignore_index,
                           int reduction) {
  const Tensor logits = logits_in.detach().contiguous();
  const Tensor target = target_in.to(kInt64).contiguous();
  const std::int64_t m = logits.size(0);
  Tensor loss = empty({m}, logits.dtype(), logits.device());
  Tensor lse = empty({m}, logits.dtype(), logits.device());
  backend_of(logits).cross_entropy(view_of(logits), view_of(target), ignore_index, view_of(loss), view_of(lse));
  // reduction: 0 none, 1 mean (over non-ignored rows, torch's rule), 2 sum
  Tensor count;
  Tensor out = loss;
  if (reduction == 1) {
    count = sum(ne(target, static_cast<double>(ignore_index))).to(logits.dtype());
    out = div(sum(loss), count);
  } else if (reduction == 2) {
    out = sum(loss);
  }
  if (!any_requires_grad({logits_in})) return out;
  SavedTensor sl(logits);
  TensorList outs{out};
  record_function("CrossEntropyBackward", {logits_in}, outs,
                  [sl, target, lse, count, reduction, ignore_index](const TensorList& g) -> TensorList {
                    const Tensor logits = sl.get("cross_entropy");
                    Tensor scale = g[0].to(logits.dtype());
                    if (reduction == 1) scale = div(scale, count);
                    scale = scale.reshape({-1}).contiguous();
                    Tensor grad = empty(logits.shape(), logits.dtype(), logits.device());
                    backend_of(logits).cross_entropy_backward(view_of(logits), view_of(target), ignore_index,
                                                              view_of(lse), view_of(scale), view_of(grad));
                    return {grad};
                  });
  return outs[0];
}

}  // namespace peftcpp::nn::functional::fused
