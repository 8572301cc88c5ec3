// GPT-2's attention, MLP and block. Heads are one batched matmul ([B, H, T, D] views of the
// c_attn output), never a loop.
#include <cmath>

#include "models/gpt2/gpt2.h"
#include "nn/functional.h"
#include "nn/layers/activation.h"
#include "nn/layers/linear.h"
#include "nn/layers/norm.h"
#include "tensor/ops.h"

namespace peftcpp::models {
namespace {

constexpr float kFloat32Min = -3.4028234663852886e38f;

// [B, T, C] -> [B, H, T, D] (a view when the input is contiguous).
Tensor split_heads(const Tensor& x, std::int64_t heads, std::int64_t head_dim) {
  return x.reshape({x.size(0), x.size(1), heads, head_dim}).permute({0, 2, 1, 3});
}

}  // namespace

GPT2Attention::GPT2Attention(const GPT2Config& config, std::int64_t layer_idx)
    : num_heads_(config.n_head),
      head_dim_(config.n_head > 0 ? config.n_embd / config.n_head : 0),
      layer_idx_(layer_idx),
      scale_attn_weights_(config.scale_attn_weights),
      scale_by_inverse_layer_idx_(config.scale_attn_by_inverse_layer_idx),
      reorder_and_upcast_attn_(config.reorder_and_upcast_attn),
      attn_pdrop_(config.attn_pdrop) {
  PEFTCPP_CHECK(
      config.n_head > 0 && head_dim_ * config.n_head == config.n_embd,
      "[gpt2] n_embd (",
      config.n_embd,
      ") must be a positive multiple of n_head (",
      config.n_head,
      ")");
  c_attn = std::make_shared<nn::Conv1D>(3 * config.n_embd, config.n_embd);
  c_proj = std::make_shared<nn::Conv1D>(config.n_embd, config.n_embd);
  attn_dropout = std::make_shared<nn::Dropout>(config.attn_pdrop);
  resid_dropout = std::make_shared<nn::Dropout>(config.resid_pdrop);
  register_module("c_attn", &c_attn);
  register_module("c_proj", &c_proj);
  register_module("attn_dropout", &attn_dropout);
  register_module("resid_dropout", &resid_dropout);
}

Tensor GPT2Attention::attend(
    const Tensor& q, const Tensor& k, const Tensor& v, const GPT2AttentionMask& mask) {
  double scale = scale_attn_weights_ ? 1.0 / std::sqrt(static_cast<double>(head_dim_)) : 1.0;
  if (scale_by_inverse_layer_idx_)
    scale /= static_cast<double>(layer_idx_ + 1);
  const bool dropout_on = is_training() && attn_pdrop_ > 0.0;
  if (!reorder_and_upcast_attn_ && !dropout_on)
    return nn::F::scaled_dot_product_attention(q, k, v, mask.additive, 0.0, false, scale);

  // transformers' _upcast_and_reordered_attn (scores and softmax in float32, probabilities cast
  // back to v's dtype) or the plain path with dropout on the probabilities.
  const bool upcast = reorder_and_upcast_attn_;
  const Tensor qq = upcast ? q.to(kFloat32) : q;
  const Tensor kk = upcast ? k.to(kFloat32) : k;
  Tensor add_mask = mask.additive;
  if (upcast && q.dtype() != kFloat32) {
    // The causal part uses float32's min in the upcast path; padding keeps the model dtype's.
    add_mask = masked_fill(
        zeros(mask.causal.shape(), kFloat32, q.device()), logical_not(mask.causal), kFloat32Min);
    if (mask.padding.defined())
      add_mask = add(add_mask, mask.padding.to(kFloat32));
  }
  Tensor scores = add(mul(matmul(qq, kk.mT()), scale), add_mask);
  Tensor probs = softmax(scores, -1).to(v.dtype());
  probs = attn_dropout->forward(probs);
  return matmul(probs, v);
}

Tensor GPT2Attention::forward(
    const Tensor& x, const GPT2AttentionMask& mask, LayerKV* cache, bool use_cache) {
  const std::int64_t b = x.size(0), t = x.size(1), c = num_heads_ * head_dim_;
  const TensorList qkv = split(c_attn->forward(x), c, -1);
  const Tensor q = split_heads(qkv[0], num_heads_, head_dim_);
  Tensor k = split_heads(qkv[1], num_heads_, head_dim_);
  Tensor v = split_heads(qkv[2], num_heads_, head_dim_);
  if (cache != nullptr && cache->key.defined()) {
    const Tensor& pk = cache->key;
    PEFTCPP_CHECK_SHAPE(
        pk.dim() == 4 && pk.size(0) == b && pk.size(1) == num_heads_ && pk.size(3) == head_dim_ &&
            cache->value.defined() && cache->value.shape() == pk.shape(),
        "[gpt2] layer ",
        layer_idx_,
        ": cached key/value ",
        shape_str(pk.shape()),
        " do not fit [batch ",
        b,
        ", heads ",
        num_heads_,
        ", past, head_dim ",
        head_dim_,
        "]");
    k = cat({pk, k}, 2);
    v = cat({cache->value, v}, 2);
  }
  if (cache != nullptr && use_cache) {
    cache->key = k;
    cache->value = v;
  }
  const Tensor y = attend(q, k, v, mask).permute({0, 2, 1, 3}).reshape({b, t, c});
  return resid_dropout->forward(c_proj->forward(y));
}

GPT2MLP::GPT2MLP(std::int64_t inner_size, const GPT2Config& config) {
  c_fc = std::make_shared<nn::Conv1D>(inner_size, config.n_embd);
  c_proj = std::make_shared<nn::Conv1D>(config.n_embd, inner_size);
  act = nn::get_activation(config.activation_function);
  dropout = std::make_shared<nn::Dropout>(config.resid_pdrop);
  register_module("c_fc", &c_fc);
  register_module("c_proj", &c_proj);
  register_module("act", &act);
  register_module("dropout", &dropout);
}

Tensor GPT2MLP::forward(const Tensor& x) {
  return dropout->forward(c_proj->forward(act->forward(c_fc->forward(x))));
}

GPT2Block::GPT2Block(const GPT2Config& config, std::int64_t layer_idx) {
  ln_1 = std::make_shared<nn::LayerNorm>(config.n_embd, config.layer_norm_epsilon);
  attn = std::make_shared<GPT2Attention>(config, layer_idx);
  ln_2 = std::make_shared<nn::LayerNorm>(config.n_embd, config.layer_norm_epsilon);
  mlp = std::make_shared<GPT2MLP>(config.inner_size(), config);
  register_module("ln_1", &ln_1);
  register_module("attn", &attn);
  register_module("ln_2", &ln_2);
  register_module("mlp", &mlp);
}

Tensor GPT2Block::forward(
    const Tensor& x, const GPT2AttentionMask& mask, LayerKV* cache, bool use_cache) {
  const Tensor h = add(attn->forward(ln_1->forward(x), mask, cache, use_cache), x);
  return add(h, mlp->forward(ln_2->forward(h)));
}

}  // namespace peftcpp::models
