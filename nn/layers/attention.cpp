#include "nn/layers/attention.h"

#include "nn/functional.h"
#include "nn/layers/linear.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::nn {

MultiHeadAttention::MultiHeadAttention(const MultiHeadAttentionOptions& opts,
                                       const FactoryOptions& factory)
    : options(opts) {
  if (options.num_kv_heads == 0) options.num_kv_heads = options.num_heads;
  PEFTCPP_CHECK(options.embed_dim > 0 && options.num_heads > 0 && options.num_kv_heads > 0,
                "[MultiHeadAttention] embed_dim, num_heads and num_kv_heads must be positive");
  PEFTCPP_CHECK(options.embed_dim % options.num_heads == 0,
                "[MultiHeadAttention] embed_dim " + std::to_string(options.embed_dim) +
                    " is not divisible by num_heads " + std::to_string(options.num_heads));
  PEFTCPP_CHECK(options.num_heads % options.num_kv_heads == 0,
                "[MultiHeadAttention] num_heads " + std::to_string(options.num_heads) +
                    " is not a multiple of num_kv_heads " + std::to_string(options.num_kv_heads));
  head_dim = options.embed_dim / options.num_heads;
  const std::int64_t kv_dim = head_dim * options.num_kv_heads;
  q_proj = std::make_shared<Linear>(options.embed_dim, options.embed_dim, options.bias, factory);
  k_proj = std::make_shared<Linear>(options.embed_dim, kv_dim, options.bias, factory);
  v_proj = std::make_shared<Linear>(options.embed_dim, kv_dim, options.bias, factory);
  o_proj = std::make_shared<Linear>(options.embed_dim, options.embed_dim, options.bias, factory);
  register_module("q_proj", &q_proj);
  register_module("k_proj", &k_proj);
  register_module("v_proj", &v_proj);
  register_module("o_proj", &o_proj);
  if (options.rotary) {
    PEFTCPP_CHECK(head_dim % 2 == 0, "[MultiHeadAttention] rotary needs an even head_dim, got " +
                                         std::to_string(head_dim));
    rotary_emb = std::make_shared<RotaryEmbedding>(head_dim, options.rope_theta);
    register_module("rotary_emb", &rotary_emb);
  }
}

std::string MultiHeadAttention::extra_repr() const {
  return "embed_dim=" + std::to_string(options.embed_dim) +
         ", num_heads=" + std::to_string(options.num_heads) +
         ", num_kv_heads=" + std::to_string(options.num_kv_heads);
}

Tensor MultiHeadAttention::forward(const Tensor& x, const Tensor& padding_mask, bool causal,
                                   const Tensor& position_ids) {
  PEFTCPP_CHECK(x.dim() == 3 && x.size(2) == options.embed_dim,
                "[MultiHeadAttention] input must be [B, T, " + std::to_string(options.embed_dim) +
                    "], got " + shape_str(x.shape()));
  const std::int64_t B = x.size(0), T = x.size(1);
  // [B, T, H*D] -> [B, H, T, D]
  auto heads = [&](const Tensor& t, std::int64_t h) { return t.view({B, T, h, head_dim}).transpose(1, 2); };
  Tensor q = heads(q_proj->forward(x), options.num_heads);
  Tensor k = heads(k_proj->forward(x), options.num_kv_heads);
  Tensor v = heads(v_proj->forward(x), options.num_kv_heads);
  if (rotary_emb) {
    Tensor pos = position_ids.defined() ? position_ids : arange(0, static_cast<double>(T), 1, kInt64);
    if (pos.dim() == 1) pos = pos.unsqueeze(0).expand({B, T});
    auto [cos, sin] = rotary_emb->forward(pos, q.dtype());
    std::tie(q, k) = functional::apply_rotary_pos_emb(q, k, cos, sin);
  }
  // Bool mask [B, 1, T, T]: true = may attend.
  Tensor mask;
  if (causal) mask = tril(ones({T, T}, kBool));
  if (padding_mask.defined()) {
    PEFTCPP_CHECK(padding_mask.shape() == Shape({B, T}),
                  "[MultiHeadAttention] padding_mask must be [B, T] = [" + std::to_string(B) +
                      ", " + std::to_string(T) + "], got " + shape_str(padding_mask.shape()));
    Tensor keep = ne(padding_mask, 0).view({B, 1, 1, T});
    mask = mask.defined() ? logical_and(mask.view({1, 1, T, T}), keep) : keep;
  }
  const double p = is_training() ? options.dropout : 0.0;
  Tensor out = functional::scaled_dot_product_attention(q, k, v, mask, p, false, std::nullopt,
                                                        options.num_kv_heads != options.num_heads,
                                                        generator);
  if (mask.defined()) {
    // Rows with no visible key come out of softmax as NaN; they attend to nothing.
    Tensor any_key = any(mask.expand({B, 1, T, T}), {-1}, true);
    out = where(any_key, out, 0.0);
  }
  return o_proj->forward(out.transpose(1, 2).reshape({B, T, options.embed_dim}));
}

}  // namespace peftcpp::nn
