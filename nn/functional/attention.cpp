// Scaled dot-product attention (composed from matmul / softmax so that it is differentiable
// through every input), grouped-query repeat_kv, and HF's rotary helpers.
#include <cmath>
#include <limits>

#include "autograd/grad_mode.h"
#include "nn/functional.h"
#include "nn/functional/fused.h"
#include "tensor/ops/op_utils.h"

namespace peftcpp::nn::functional {

Tensor repeat_kv(const Tensor& x, std::int64_t n_rep) {
  PEFTCPP_CHECK(
      x.defined() && x.dim() >= 3,
      "[repeat_kv] expects [..., heads, S, E], got ",
      x.defined() ? shape_str(x.shape()) : std::string("undefined"));
  PEFTCPP_CHECK(n_rep >= 1, "[repeat_kv] n_rep must be positive, got ", n_rep);
  if (n_rep == 1)
    return x;
  const std::int64_t hd = x.dim() - 3;  // heads dim
  Shape expanded = x.shape();
  expanded.insert(expanded.begin() + hd + 1, n_rep);
  Shape out = x.shape();
  out[static_cast<std::size_t>(hd)] *= n_rep;
  return x.unsqueeze(hd + 1).expand(expanded).reshape(out);
}

Tensor scaled_dot_product_attention(
    const Tensor& q,
    const Tensor& k,
    const Tensor& v,
    const Tensor& attn_mask,
    double dropout_p,
    bool is_causal,
    std::optional<double> scale,
    bool enable_gqa,
    Generator* gen) {
  const char* op = "scaled_dot_product_attention";
  PEFTCPP_CHECK(q.defined() && k.defined() && v.defined(), "[", op, "] q, k and v must be defined");
  PEFTCPP_CHECK_SHAPE(
      q.dim() >= 2 && k.dim() == q.dim() && v.dim() == q.dim(),
      "[",
      op,
      "] q, k, v need the same rank (>= 2), got ",
      shape_str(q.shape()),
      ", ",
      shape_str(k.shape()),
      ", ",
      shape_str(v.shape()));
  PEFTCPP_CHECK_SHAPE(
      q.size(-1) == k.size(-1) && k.size(-2) == v.size(-2),
      "[",
      op,
      "] shapes do not fit: q ",
      shape_str(q.shape()),
      ", k ",
      shape_str(k.shape()),
      ", v ",
      shape_str(v.shape()));
  PEFTCPP_CHECK(
      !(is_causal && attn_mask.defined()),
      "[",
      op,
      "] pass either attn_mask or is_causal, not both");
  Tensor kk = k, vv = v;
  if (enable_gqa && q.dim() >= 3 && k.size(-3) != q.size(-3)) {
    const std::int64_t hq = q.size(-3), hk = k.size(-3);
    PEFTCPP_CHECK_SHAPE(
        hk > 0 && hq % hk == 0 && v.size(-3) == hk,
        "[",
        op,
        "] enable_gqa needs the query heads (",
        hq,
        ") to be a multiple of the key/value heads (",
        hk,
        ", ",
        v.size(-3),
        ")");
    kk = repeat_kv(k, hq / hk);
    vv = repeat_kv(v, hq / hk);
  }
  const std::int64_t l = q.size(-2), s = kk.size(-2);
  const double sc = scale ? *scale : 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  Tensor scores = mul(matmul(q, kk.mT()), sc);  // [..., L, S]
  const double neg_inf = -std::numeric_limits<double>::infinity();
  if (is_causal) {
    Tensor allowed =
        ge(arange(l, kInt64, q.device()).unsqueeze(1), arange(s, kInt64, q.device()).unsqueeze(0));
    scores = masked_fill(scores, logical_not(allowed), neg_inf);
  } else if (attn_mask.defined()) {
    if (attn_mask.dtype() == kBool) {
      scores = masked_fill(scores, logical_not(attn_mask), neg_inf);
    } else {
      PEFTCPP_CHECK_DTYPE(
          is_floating_point(attn_mask.dtype()),
          "[",
          op,
          "] attn_mask must be bool or float, got ",
          dtype_name(attn_mask.dtype()));
      scores = add(
          scores, attn_mask.dtype() == scores.dtype() ? attn_mask : attn_mask.to(scores.dtype()));
    }
  }
  Tensor probs = softmax(scores, -1);
  if (dropout_p > 0.0)
    probs = dropout(probs, dropout_p, true, gen);
  return matmul(probs, vv);
}

Tensor rotate_half(const Tensor& x) {
  PEFTCPP_CHECK(
      x.defined() && x.dim() >= 1 && x.size(-1) % 2 == 0,
      "[rotate_half] the last dim must be even, got ",
      x.defined() ? shape_str(x.shape()) : std::string("undefined"));
  const std::int64_t h = x.size(-1) / 2;
  Shape split = x.shape();
  split.back() = 2;
  split.push_back(h);
  // [..., 2, h] -> halves swapped -> (-x2, x1)
  Tensor swapped =
      index_select(x.reshape(split), -2, tensor<std::int64_t>({1, 0}, {2}, x.device()));
  Tensor sign = tensor_from_doubles({-1.0, 1.0}, {2, 1}, x.dtype(), x.device());
  return mul(swapped, sign).reshape(x.shape());
}

namespace {
// x [B, H, T, D] against position tables [B or 1, T, D] that need no gradient, on a backend with
// the fused kernel for x's dtype.
bool fused_rotary_fits(const Tensor& x, const Tensor& cos, const Tensor& sin) {
  return x.dim() == 4 && cos.dim() == 3 && (cos.size(0) == 1 || cos.size(0) == x.size(0)) &&
         cos.size(1) == x.size(2) && cos.size(2) == x.size(3) && x.size(3) % 2 == 0 &&
         cos.dtype() == x.dtype() && sin.dtype() == x.dtype() && cos.device() == x.device() &&
         sin.device() == x.device() && !(GradMode::is_enabled() && (cos.requires_grad() || sin.requires_grad())) &&
         use_fused(ops_detail::backend_of(x), FusedOp::Rotary, x.dtype());
}
}  // namespace

std::pair<Tensor, Tensor> apply_rotary_pos_emb(
    const Tensor& q,
    const Tensor& k,
    const Tensor& cos,
    const Tensor& sin,
    std::int64_t unsqueeze_dim) {
  PEFTCPP_CHECK(
      cos.defined() && sin.defined() && cos.shape() == sin.shape(),
      "[apply_rotary_pos_emb] cos and sin ",
      "must be defined with equal shapes");
  if (unsqueeze_dim == 1 && fused_rotary_fits(q, cos, sin) && fused_rotary_fits(k, cos, sin))
    return {fused::fused_rotary(q, cos, sin), fused::fused_rotary(k, cos, sin)};
  Tensor c = cos.unsqueeze(unsqueeze_dim), s = sin.unsqueeze(unsqueeze_dim);
  Tensor qe = add(mul(q, c), mul(rotate_half(q), s));
  Tensor ke = add(mul(k, c), mul(rotate_half(k), s));
  return {qe, ke};
}

}  // namespace peftcpp::nn::functional
