// RotaryEmbedding.
#include "nn/layers/rotary.h"

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace peftcpp::nn {

RotaryEmbedding::RotaryEmbedding(
    std::int64_t dim_, double base_, double linear_factor, double scaling)
    : dim(dim_), base(base_), attention_scaling(scaling) {
  PEFTCPP_CHECK(
      dim > 0 && dim % 2 == 0, "[RotaryEmbedding] dim must be positive and even, got ", dim);
  PEFTCPP_CHECK(
      base > 0 && linear_factor > 0, "[RotaryEmbedding] base and scaling factor must be positive");
  NoGradGuard ng;
  Tensor e = div(
      arange(0.0, static_cast<double>(dim), 2.0, kInt64).to(kFloat32), static_cast<double>(dim));
  inv_freq = 1.0 / pow(full({}, base, kFloat32), e);
  if (linear_factor != 1.0)
    inv_freq = div(inv_freq, linear_factor);
  register_buffer("inv_freq", &inv_freq, /*persistent=*/false);
}

std::pair<Tensor, Tensor> RotaryEmbedding::forward(const Tensor& position_ids, DType dtype) {
  PEFTCPP_CHECK(
      position_ids.defined() && (position_ids.dim() == 1 || position_ids.dim() == 2),
      "[RotaryEmbedding] position_ids must be [B, T] or [T]");
  NoGradGuard ng;
  Tensor pos = position_ids.dim() == 1 ? position_ids.unsqueeze(0) : position_ids;
  const std::int64_t b = pos.size(0), t = pos.size(1), h = dim / 2;
  Tensor inv = inv_freq.device() == pos.device() ? inv_freq : inv_freq.to(pos.device());
  Tensor freqs = mul(pos.to(kFloat32).unsqueeze(-1), inv.view({1, 1, h}));     // [B, T, dim/2]
  Tensor emb = freqs.unsqueeze(-2).expand({b, t, 2, h}).reshape({b, t, dim});  // cat(freqs, freqs)
  Tensor c = cos(emb), s = sin(emb);
  if (attention_scaling != 1.0) {
    c = mul(c, attention_scaling);
    s = mul(s, attention_scaling);
  }
  return {c.to(dtype), s.to(dtype)};
}

}  // namespace peftcpp::nn
