#include "models/llama/attention.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "models/llama/fast_linear.h"
#include "nn/functional.h"
#include "nn/layers/linear.h"
#include "tensor/ops.h"

namespace peftcpp::models::llama {
namespace {

namespace F = nn::functional;

// The buffer capacity (positions) of a cache tensor laid out as [B, H, cap, D] from offset 0,
// or 0 when `t` is not such a view.
std::int64_t buffer_capacity(const Tensor& t) {
  if (t.dim() != 4 || t.storage_offset() != 0)
    return 0;
  const std::int64_t h = t.size(1), d = t.size(3);
  if (d == 0 || t.stride(3) != 1 || t.stride(2) != d || t.stride(1) % d != 0)
    return 0;
  const std::int64_t cap = t.stride(1) / d;
  if (t.size(0) > 1 && t.stride(0) != h * cap * d)
    return 0;
  const auto elems = static_cast<std::int64_t>(t.storage()->nbytes() / t.itemsize());
  return elems >= t.size(0) * h * cap * d ? cap : 0;
}

// `old` (moved out of the cache) extended by `add` along dim 2, without autograd.
Tensor append_in_place(Tensor old, const Tensor& add) {
  if (!old.defined())
    old = empty({add.size(0), add.size(1), 0, add.size(3)}, add.dtype(), add.device());
  PEFTCPP_CHECK_SHAPE(
      old.dim() == 4 && old.size(0) == add.size(0) && old.size(1) == add.size(1) &&
          old.size(3) == add.size(3),
      "[models/llama] KV cache entry ",
      shape_str(old.shape()),
      " does not fit new keys/values ",
      shape_str(add.shape()));
  const Tensor src = add.dtype() == old.dtype() ? add : add.to(old.dtype());
  const std::int64_t b = old.size(0), h = old.size(1), s = old.size(2), t = src.size(2),
                     d = old.size(3);
  const std::int64_t cap = buffer_capacity(old);
  const bool exclusive =
      old.impl().use_count() == 1 && old.storage().use_count() == 1 && !old.storage()->read_only();
  if (exclusive && s + t <= cap && old.device() == src.device()) {
    old.as_strided({b, h, t, d}, old.strides(), s * d).copy_(src);
    return old.as_strided({b, h, s + t, d}, old.strides(), 0);
  }
  const std::int64_t new_cap = std::max<std::int64_t>(16, 2 * (s + t));
  Tensor buffer = empty({b, h, new_cap, d}, old.dtype(), old.device());
  if (s > 0)
    buffer.narrow(2, 0, s).copy_(old);
  buffer.narrow(2, s, t).copy_(src);
  return buffer.as_strided({b, h, s + t, d}, buffer.strides(), 0);
}

}  // namespace

void append_kv(LayerKV& entry, const Tensor& k, const Tensor& v) {
  const bool differentiable =
      GradMode::is_enabled() &&
      (k.requires_grad() || v.requires_grad() ||
       (entry.key.defined() && (entry.key.requires_grad() || entry.value.requires_grad())));
  if (differentiable) {
    entry.key = entry.key.defined() ? cat({entry.key, k}, 2) : k;
    entry.value = entry.value.defined() ? cat({entry.value, v}, 2) : v;
    return;
  }
  NoGradGuard no_grad;
  entry.key = append_in_place(std::move(entry.key), k.detach());
  entry.value = append_in_place(std::move(entry.value), v.detach());
}

LlamaAttention::LlamaAttention(
    const LlamaSettings& s, std::int64_t /*layer_idx*/, const nn::FactoryOptions& fo)
    : prefix_(s.prefix),
      num_heads_(s.num_heads),
      num_kv_heads_(s.num_kv_heads),
      head_dim_(s.head_dim),
      scaling_(1.0 / std::sqrt(static_cast<double>(s.head_dim))),
      dropout_(s.attention_dropout) {
  const std::int64_t q_out = s.num_heads * s.head_dim, kv_out = s.num_kv_heads * s.head_dim;
  q_proj = std::make_shared<nn::Linear>(s.hidden_size, q_out, s.qkv_bias, fo);
  k_proj = std::make_shared<nn::Linear>(s.hidden_size, kv_out, s.qkv_bias, fo);
  v_proj = std::make_shared<nn::Linear>(s.hidden_size, kv_out, s.qkv_bias, fo);
  o_proj = std::make_shared<nn::Linear>(q_out, s.hidden_size, s.o_bias, fo);
  register_module("q_proj", &q_proj);
  register_module("k_proj", &k_proj);
  register_module("v_proj", &v_proj);
  register_module("o_proj", &o_proj);
}

Tensor LlamaAttention::forward(
    const Tensor& hidden,
    const Tensor& cos,
    const Tensor& sin,
    const Tensor& bias,
    LayerKV* kv,
    bool append) {
  const std::int64_t b = hidden.size(0), t = hidden.size(1);
  const std::int64_t h = num_heads_, hkv = num_kv_heads_, d = head_dim_, rep = h / hkv;
  const std::vector<Tensor> qkv = apply_linears({q_proj, k_proj, v_proj}, hidden);
  Tensor q = qkv[0].view({b, t, h, d}).transpose(1, 2);
  Tensor k = qkv[1].view({b, t, hkv, d}).transpose(1, 2);
  Tensor v = qkv[2].view({b, t, hkv, d}).transpose(1, 2);
  std::tie(q, k) = F::apply_rotary_pos_emb(q, k, cos, sin);

  Tensor keys = k, values = v;
  if (kv != nullptr && append) {
    append_kv(*kv, k, v);
    keys = kv->key;
    values = kv->value;
  } else if (kv != nullptr && kv->key.defined()) {
    keys = cat({kv->key, k}, 2);
    values = cat({kv->value, v}, 2);
  }
  const std::int64_t s = keys.size(2);
  // Query heads h = g * rep + r share key/value head g: [B, Hkv, rep * T, D] against the
  // unrepeated keys gives transformers' repeat_kv products without copying the keys.
  Tensor scores = mul(matmul(q.reshape({b, hkv, rep * t, d}), keys.mT()), scaling_);
  if (bias.defined())
    scores = add(scores.view({b, hkv, rep, t, s}), bias.unsqueeze(1)).view({b, hkv, rep * t, s});
  Tensor probs = scores.dtype() == kFloat32 || scores.dtype() == kFloat64
                     ? softmax(scores, -1)
                     : softmax(scores.to(kFloat32), -1).to(scores.dtype());
  if (is_training() && dropout_ > 0.0)
    probs = F::dropout(probs, dropout_, true);
  Tensor out = matmul(probs, values);  // [B, Hkv, rep * T, D]
  out = out.view({b, h, t, d}).transpose(1, 2).reshape({b, t, h * d});
  return apply_linear(o_proj, out);
}

}  // namespace peftcpp::models::llama
