// Losses: cross_entropy (one fused node), mse_loss, binary_cross_entropy_with_logits.
//
// Cross entropy over rows i with target t_i, class weights w (1 when absent), smoothing e and C
// classes, with lsm = log_softmax(x_i):
//   loss_i = -(1 - e) w[t_i] lsm[t_i] - (e / C) sum_c w[c] lsm[c]       (0 for ignored rows)
//   d loss_i / d x_ij = p_ij ((1 - e) w[t_i] + (e / C) sum_c w[c]) - (1 - e) w[t_i] [j == t_i] - (e
//   / C) w[j]
// "mean" divides the summed loss by sum_i w[t_i] over non-ignored rows (torch's nll_loss rule,
// also applied to the smoothing term as torch does).
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "nn/functional.h"
#include "nn/functional/fused.h"
#include "tensor/ops/op_utils.h"

namespace peftcpp::nn::functional {
namespace {

enum class Reduction { None, Mean, Sum };

Reduction parse_reduction(const std::string& r, const char* op) {
  if (r == "none")
    return Reduction::None;
  if (r == "mean")
    return Reduction::Mean;
  if (r == "sum")
    return Reduction::Sum;
  throw ValueError(
      detail::concat("[", op, "] reduction must be 'none', 'mean' or 'sum', got '", r, "'"));
}

Tensor reduce(const Tensor& loss, Reduction r) {
  if (r == Reduction::None)
    return loss;
  return r == Reduction::Sum ? sum(loss) : mean(loss);
}

bool is_16bit(DType d) {
  return d == kFloat16 || d == kBFloat16;
}

// x [M, C], t int64 [M] -> loss [M] (None) or 0-d.
Tensor cross_entropy_rows(
    const Tensor& x,
    const Tensor& t,
    const Tensor& weight,
    std::int64_t ignore_index,
    Reduction red,
    double eps) {
  const std::int64_t m = x.size(0), c = x.size(1);
  const DType dt = x.dtype();
  const DType ct = is_16bit(dt) ? kFloat32 : dt;
  Tensor lsm, safe_t, validf, w_t, wc, loss, denom;
  Tensor valid;
  {
    NoGradGuard ng;
    valid = ne(t, static_cast<double>(ignore_index));
    safe_t = mul(t, valid.to(kInt64));
    if (m > 0) {
      const std::int64_t lo = amin(safe_t).item<std::int64_t>(),
                         hi = amax(safe_t).item<std::int64_t>();
      PEFTCPP_CHECK_INDEX(
          lo >= 0 && hi < c,
          "[cross_entropy] target values span [",
          lo,
          ", ",
          hi,
          "] but there are ",
          c,
          " classes (ignore_index=",
          ignore_index,
          ")");
    }
  }
  // The common case (no class weights, no smoothing) is one fused node: log-sum-exp per row
  // forward, softmax - onehot backward, nothing of size [M, C] kept but the logits.
  if (!weight.defined() && eps == 0.0 && use_fused(ops_detail::backend_of(x), FusedOp::CrossEntropy, dt))
    return fused::fused_cross_entropy(x, t, ignore_index, static_cast<int>(red));
  {
    NoGradGuard ng;
    lsm = log_softmax(ops_detail::cast_if_needed(x.detach(), ct), 1);
    validf = valid.to(ct);
    if (weight.defined())
      wc = ops_detail::cast_if_needed(weight.detach(), ct);
    w_t = wc.defined() ? mul(index_select(wc, 0, safe_t), validf) : validf;
    Tensor picked = gather(lsm, 1, safe_t.unsqueeze(1)).squeeze(1);
    loss = mul(mul(w_t, picked), -(1.0 - eps));
    if (eps > 0.0) {
      Tensor s = wc.defined() ? sum(mul(lsm, wc.unsqueeze(0)), {1}) : sum(lsm, {1});
      loss = sub(loss, mul(mul(s, validf), eps / static_cast<double>(c)));
    }
    if (red == Reduction::Sum)
      loss = sum(loss);
    if (red == Reduction::Mean) {
      denom = sum(w_t);
      loss = div(sum(loss), denom);
    }
    loss = ops_detail::cast_if_needed(loss, dt);
  }
  if (!any_requires_grad({x}))
    return loss;
  const double w_total = wc.defined() ? sum(wc).item<double>() : static_cast<double>(c);
  TensorList outs{loss};
  record_function(
      "CrossEntropyBackward",
      {x},
      outs,
      [lsm, safe_t, validf, w_t, wc, denom, red, eps, c, w_total, dt](
          const TensorList& g) -> TensorList {
        Tensor go = ops_detail::cast_if_needed(g[0], lsm.dtype());
        // per-row upstream scale [M] (or a 0-d scalar)
        Tensor scale = red == Reduction::None ? go : (red == Reduction::Mean ? div(go, denom) : go);
        Tensor row = mul(validf, scale);  // [M]
        Tensor a = add(mul(w_t, 1.0 - eps), mul(validf, eps * w_total / static_cast<double>(c)));
        Tensor grad = exp(lsm);
        grad.mul_(mul(a, scale).unsqueeze(1));
        // -(1 - e) w[t_i] at (i, t_i), written in place
        Tensor hit = mul(mul(w_t, scale), -(1.0 - eps)).unsqueeze(1).contiguous();
        ops_detail::backend_of(grad).scatter(
            view_of(grad), 1, view_of(safe_t.unsqueeze(1).contiguous()), view_of(hit), true);
        if (eps > 0.0) {
          Tensor wrow =
              wc.defined() ? wc.unsqueeze(0) : full({1, c}, 1.0, grad.dtype(), grad.device());
          grad.add_(mul(row.unsqueeze(1), wrow), -eps / static_cast<double>(c));
        }
        return {ops_detail::cast_if_needed(grad, dt)};
      });
  return outs[0];
}

}  // namespace

Tensor cross_entropy(
    const Tensor& input,
    const Tensor& target,
    const Tensor& weight,
    std::int64_t ignore_index,
    const std::string& reduction,
    double label_smoothing) {
  const Reduction red = parse_reduction(reduction, "cross_entropy");
  PEFTCPP_CHECK(
      input.defined() && target.defined(), "[cross_entropy] input and target must be defined");
  PEFTCPP_CHECK_DTYPE(
      is_floating_point(input.dtype()),
      "[cross_entropy] input must be floating point, got ",
      dtype_name(input.dtype()));
  PEFTCPP_CHECK_DTYPE(
      is_integral(target.dtype()) && target.dtype() != kBool,
      "[cross_entropy] target must hold ",
      "class indices (int64), got ",
      dtype_name(target.dtype()),
      " (probability targets are not supported)");
  PEFTCPP_CHECK(
      label_smoothing >= 0.0 && label_smoothing <= 1.0,
      "[cross_entropy] label_smoothing must be in ",
      "[0, 1], got ",
      label_smoothing);
  PEFTCPP_CHECK_SHAPE(
      input.dim() >= 1, "[cross_entropy] input must have a class dim, got a 0-d tensor");
  const std::int64_t c = input.dim() == 1 ? input.size(0) : input.size(1);
  PEFTCPP_CHECK_SHAPE(
      !weight.defined() || (weight.dim() == 1 && weight.size(0) == c),
      "[cross_entropy] weight ",
      shape_str(weight.shape()),
      " must be 1-D with one entry per class (",
      c,
      ")");
  Tensor rows;
  Shape out_shape;
  if (input.dim() == 1) {
    PEFTCPP_CHECK_SHAPE(
        target.dim() == 0,
        "[cross_entropy] an unbatched input [C] needs a 0-d target, got ",
        shape_str(target.shape()));
    rows = input.unsqueeze(0);
  } else {
    Shape expect = {input.size(0)};
    expect.insert(expect.end(), input.shape().begin() + 2, input.shape().end());
    PEFTCPP_CHECK_SHAPE(
        target.shape() == expect,
        "[cross_entropy] target ",
        shape_str(target.shape()),
        " does not match input ",
        shape_str(input.shape()),
        " (expected ",
        shape_str(expect),
        ")");
    out_shape = expect;
    if (input.dim() == 2) {
      rows = input;
    } else {
      std::vector<std::int64_t> perm = {0};
      for (std::int64_t d = 2; d < input.dim(); ++d) perm.push_back(d);
      perm.push_back(1);
      rows = input.permute(perm).reshape({-1, c});
    }
  }
  Tensor t = target.reshape({-1});
  if (t.dtype() != kInt64)
    t = t.to(kInt64);
  Tensor loss = cross_entropy_rows(rows, t, weight, ignore_index, red, label_smoothing);
  return red == Reduction::None ? loss.reshape(out_shape) : loss;
}

Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  const Reduction red = parse_reduction(reduction, "mse_loss");
  PEFTCPP_CHECK(input.defined() && target.defined(), "[mse_loss] input and target must be defined");
  return reduce(square(sub(input, target)), red);
}

Tensor binary_cross_entropy_with_logits(
    const Tensor& input,
    const Tensor& target,
    const Tensor& weight,
    const Tensor& pos_weight,
    const std::string& reduction) {
  const Reduction red = parse_reduction(reduction, "binary_cross_entropy_with_logits");
  PEFTCPP_CHECK(
      input.defined() && target.defined(),
      "[binary_cross_entropy_with_logits] input and target must ",
      "be defined");
  PEFTCPP_CHECK_SHAPE(
      input.shape() == target.shape(),
      "[binary_cross_entropy_with_logits] target ",
      shape_str(target.shape()),
      " must have the shape of input ",
      shape_str(input.shape()));
  // (1 - t) x + lw (max(-x, 0) + log1p(exp(-|x|))), lw = 1 + (pos_weight - 1) t
  Tensor softplus_neg = add(clamp_min(neg(input), 0.0), log1p(exp(neg(abs(input)))));
  Tensor lw = pos_weight.defined() ? add(mul(sub(pos_weight, 1.0), target), 1.0) : Tensor();
  Tensor loss =
      add(mul(rsub(target, 1.0), input), lw.defined() ? mul(lw, softplus_neg) : softplus_neg);
  if (weight.defined())
    loss = mul(loss, weight);
  return reduce(loss, red);
}

}  // namespace peftcpp::nn::functional
