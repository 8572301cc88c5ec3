// T5 layers; see t5_layers.h. Port of transformers/models/t5/modeling_t5.py @9feae5fb.
#include "models/t5/t5_layers.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include "autograd/grad_mode.h"
#include "nn/functional.h"
#include "nn/layers/linear.h"
#include "tensor/ops.h"

namespace peftcpp::models::t5 {
namespace {

namespace F = nn::functional;

bool is_16bit(DType d) {
  return d == kFloat16 || d == kBFloat16;
}

// Bias-free Linear [in -> out] with weight ~ N(0, std) (transformers' T5 _init_weights).
std::shared_ptr<nn::UnaryModule> make_linear(std::int64_t in, std::int64_t out, double std) {
  auto lin = std::make_shared<nn::Linear>(in, out, /*bias=*/false);
  NoGradGuard no_grad;
  normal_(lin->weight, 0.0, std);
  return lin;
}

}  // namespace

std::int64_t relative_position_bucket(
    std::int64_t relative_position,
    bool bidirectional,
    std::int64_t num_buckets,
    std::int64_t max_distance) {
  PEFTCPP_CHECK(
      num_buckets >= (bidirectional ? 4 : 2) && max_distance > 0,
      "[t5] relative position buckets need num_buckets >= ",
      bidirectional ? 4 : 2,
      " and max_distance > 0, got ",
      num_buckets,
      " and ",
      max_distance);
  std::int64_t bucket = 0;
  std::int64_t n = num_buckets;
  std::int64_t distance = relative_position;
  if (bidirectional) {
    n /= 2;
    if (distance > 0)
      bucket += n;
    distance = std::abs(distance);
  } else {
    distance = -std::min<std::int64_t>(distance, 0);
  }
  const std::int64_t max_exact = n / 2;
  if (distance < max_exact)
    return bucket + distance;
  // torch evaluates this in float32 (the Python float divisor is cast to the tensor dtype) and
  // truncates toward zero.
  const float ratio = static_cast<float>(distance) / static_cast<float>(max_exact);
  const float scale = static_cast<float>(
      std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)));
  const float steps = std::log(ratio) / scale * static_cast<float>(n - max_exact);
  const std::int64_t large = max_exact + static_cast<std::int64_t>(steps);
  return bucket + std::min(large, n - 1);
}

Tensor relative_position_buckets(
    std::int64_t query_length,
    std::int64_t key_length,
    std::int64_t offset,
    bool bidirectional,
    std::int64_t num_buckets,
    std::int64_t max_distance) {
  PEFTCPP_CHECK(
      query_length >= 0 && key_length >= 0 && offset >= 0,
      "[t5] relative_position_buckets: negative length (query ",
      query_length,
      ", key ",
      key_length,
      ", offset ",
      offset,
      ")");
  // Every entry depends on key - query only: compute each distinct distance once.
  const std::int64_t lo = -(offset + query_length - 1), hi = key_length - 1 - offset;
  std::vector<std::int64_t> by_distance(
      static_cast<std::size_t>(std::max<std::int64_t>(hi - lo + 1, 0)));
  for (std::int64_t d = lo; d <= hi; ++d)
    by_distance[static_cast<std::size_t>(d - lo)] =
        relative_position_bucket(d, bidirectional, num_buckets, max_distance);
  std::vector<std::int64_t> out(static_cast<std::size_t>(query_length * key_length));
  for (std::int64_t i = 0; i < query_length; ++i)
    for (std::int64_t j = 0; j < key_length; ++j)
      out[static_cast<std::size_t>(i * key_length + j)] =
          by_distance[static_cast<std::size_t>(j - (offset + i) - lo)];
  return tensor<std::int64_t>(out, {query_length, key_length});
}


// ---- T5LayerNorm -------------------------------------------------------------------------

T5LayerNorm::T5LayerNorm(std::int64_t hidden_size, double eps_) : eps(eps_) {
  weight = ones({hidden_size});
  register_parameter("weight", &weight);
}

Tensor T5LayerNorm::forward(const Tensor& x) {
  PEFTCPP_CHECK_SHAPE(
      x.defined() && x.dim() >= 1 && x.size(-1) == weight.size(0),
      "[t5] T5LayerNorm: input ",
      x.defined() ? shape_str(x.shape()) : std::string("undefined"),
      " does not end in the hidden size ",
      weight.size(0));
  const DType stat = x.dtype() == kFloat64 ? kFloat64 : kFloat32;
  Tensor xf = x.dtype() == stat ? x : x.to(stat);
  Tensor variance = mean(square(xf), {-1}, true);
  Tensor y = mul(xf, rsqrt(add(variance, eps)));
  if (is_16bit(weight.dtype()) && y.dtype() != weight.dtype())
    y = y.to(weight.dtype());
  return mul(weight, y);
}

// ---- feed-forward ------------------------------------------------------------------------

T5DenseActDense::T5DenseActDense(const T5Config& c) {
  const double f = c.initializer_factor;
  wi = make_linear(c.d_model, c.d_ff, f * std::pow(static_cast<double>(c.d_model), -0.5));
  wo = make_linear(c.d_ff, c.d_model, f * std::pow(static_cast<double>(c.d_ff), -0.5));
  dropout = std::make_shared<nn::Dropout>(c.dropout_rate);
  act = nn::get_activation(c.dense_act_fn);
  register_module("wi", &wi);
  register_module("wo", &wo);
  register_module("dropout", &dropout);
  register_module("act", &act);
}

Tensor T5DenseActDense::forward(const Tensor& x) {
  return wo->forward(dropout->forward(act->forward(wi->forward(x))));
}

T5DenseGatedActDense::T5DenseGatedActDense(const T5Config& c) {
  const double f = c.initializer_factor;
  const double std_in = f * std::pow(static_cast<double>(c.d_model), -0.5);
  wi_0 = make_linear(c.d_model, c.d_ff, std_in);
  wi_1 = make_linear(c.d_model, c.d_ff, std_in);
  wo = make_linear(c.d_ff, c.d_model, f * std::pow(static_cast<double>(c.d_ff), -0.5));
  dropout = std::make_shared<nn::Dropout>(c.dropout_rate);
  act = nn::get_activation(c.dense_act_fn);
  register_module("wi_0", &wi_0);
  register_module("wi_1", &wi_1);
  register_module("wo", &wo);
  register_module("dropout", &dropout);
  register_module("act", &act);
}

Tensor T5DenseGatedActDense::forward(const Tensor& x) {
  Tensor h = mul(act->forward(wi_0->forward(x)), wi_1->forward(x));
  return wo->forward(dropout->forward(h));
}

T5LayerFF::T5LayerFF(const T5Config& c) {
  if (c.is_gated_act)
    DenseReluDense = std::make_shared<T5DenseGatedActDense>(c);
  else
    DenseReluDense = std::make_shared<T5DenseActDense>(c);
  layer_norm = std::make_shared<T5LayerNorm>(c.d_model, c.layer_norm_epsilon);
  dropout = std::make_shared<nn::Dropout>(c.dropout_rate);
  register_module("DenseReluDense", &DenseReluDense);
  register_module("layer_norm", &layer_norm);
  register_module("dropout", &dropout);
}

Tensor T5LayerFF::forward(const Tensor& x) {
  return add(x, dropout->forward(DenseReluDense->forward(layer_norm->forward(x))));
}

// ---- attention ---------------------------------------------------------------------------

T5Attention::T5Attention(const T5Config& c, bool has_relative_attention_bias)
    : n_heads(c.num_heads),
      key_value_proj_dim(c.d_kv),
      relative_attention_num_buckets(c.relative_attention_num_buckets),
      relative_attention_max_distance(c.relative_attention_max_distance),
      dropout_p(c.dropout_rate) {
  PEFTCPP_CHECK(
      c.num_heads > 0 && c.d_kv > 0 && c.d_model > 0,
      "[t5] config needs positive num_heads, d_kv and d_model, got ",
      c.num_heads,
      ", ",
      c.d_kv,
      ", ",
      c.d_model);
  const double f = c.initializer_factor;
  const double dm = static_cast<double>(c.d_model);
  const std::int64_t inner = n_heads * key_value_proj_dim;
  q = make_linear(c.d_model, inner, f * std::pow(dm * static_cast<double>(c.d_kv), -0.5));
  k = make_linear(c.d_model, inner, f * std::pow(dm, -0.5));
  v = make_linear(c.d_model, inner, f * std::pow(dm, -0.5));
  o = make_linear(inner, c.d_model, f * std::pow(static_cast<double>(inner), -0.5));
  register_module("q", &q);
  register_module("k", &k);
  register_module("v", &v);
  register_module("o", &o);
  if (has_relative_attention_bias) {
    auto emb = std::make_shared<nn::Embedding>(relative_attention_num_buckets, n_heads);
    {
      NoGradGuard no_grad;
      normal_(emb->weight, 0.0, f * std::pow(dm, -0.5));
    }
    relative_attention_bias = emb;
    register_module("relative_attention_bias", &relative_attention_bias);
  }
}

Tensor T5Attention::compute_bias(
    std::int64_t query_length, std::int64_t key_length, std::int64_t offset, bool bidirectional) {
  PEFTCPP_CHECK(
      relative_attention_bias != nullptr,
      "[t5] compute_bias called on an attention layer without relative_attention_bias");
  Tensor buckets = relative_position_buckets(
      query_length,
      key_length,
      offset,
      bidirectional,
      relative_attention_num_buckets,
      relative_attention_max_distance);
  // [q, k, heads] -> [1, heads, q, k]
  return relative_attention_bias->forward(buckets).permute({2, 0, 1}).unsqueeze(0);
}

Tensor T5Attention::split_heads(const Tensor& x) const {
  return x.reshape({x.size(0), x.size(1), n_heads, key_value_proj_dim}).transpose(1, 2);
}

Tensor T5Attention::forward(
    const Tensor& hidden,
    const Tensor& key_value_states,
    const Tensor& bias,
    LayerKV* cache,
    bool update) {
  PEFTCPP_CHECK_SHAPE(
      hidden.defined() && hidden.dim() == 3,
      "[t5] attention expects hidden states [batch, seq, d_model], got ",
      hidden.defined() ? shape_str(hidden.shape()) : std::string("undefined"));
  const std::int64_t batch = hidden.size(0), len = hidden.size(1);
  const bool cross = is_cross_attention;
  PEFTCPP_CHECK(
      !cross || key_value_states.defined() || (cache != nullptr && cache->key.defined()),
      "[t5] cross-attention needs encoder hidden states (or cached cross keys/values)");
  Tensor query = split_heads(q->forward(hidden));  // [B, H, T, d_kv]
  Tensor key, value;
  if (cross && cache != nullptr && cache->key.defined()) {
    key = cache->key;
    value = cache->value;
  } else {
    const Tensor& source = cross ? key_value_states : hidden;
    key = split_heads(k->forward(source));
    value = split_heads(v->forward(source));
    if (!cross && cache != nullptr && cache->key.defined()) {
      PEFTCPP_CHECK_SHAPE(
          cache->value.defined() && cache->key.dim() == 4 && cache->key.size(0) == batch &&
              cache->key.size(1) == n_heads && cache->key.size(3) == key_value_proj_dim &&
              cache->value.shape() == cache->key.shape(),
          "[t5] cached keys/values ",
          shape_str(cache->key.shape()),
          " do not fit [batch ",
          batch,
          ", heads ",
          n_heads,
          ", past, d_kv ",
          key_value_proj_dim,
          "]");
      key = cat({cache->key, key}, 2);
      value = cat({cache->value, value}, 2);
    }
    if (cache != nullptr && update) {
      cache->key = key;
      cache->value = value;
    }
  }
  Tensor scores = matmul(query, key.mT());  // [B, H, T, S]; no 1/sqrt(d_kv) in T5
  if (bias.defined())
    scores = add(scores, bias.dtype() == scores.dtype() ? bias : bias.to(scores.dtype()));
  Tensor probs = is_16bit(scores.dtype()) ? softmax(scores.to(kFloat32), -1).to(scores.dtype())
                                          : softmax(scores, -1);
  probs = F::dropout(probs, dropout_p, is_training());
  Tensor out = matmul(probs, value).transpose(1, 2).reshape({batch, len, -1});
  return o->forward(out);
}

T5LayerSelfAttention::T5LayerSelfAttention(const T5Config& c, bool has_relative_attention_bias) {
  SelfAttention = std::make_shared<T5Attention>(c, has_relative_attention_bias);
  layer_norm = std::make_shared<T5LayerNorm>(c.d_model, c.layer_norm_epsilon);
  dropout = std::make_shared<nn::Dropout>(c.dropout_rate);
  register_module("SelfAttention", &SelfAttention);
  register_module("layer_norm", &layer_norm);
  register_module("dropout", &dropout);
}

Tensor T5LayerSelfAttention::forward(
    const Tensor& hidden, const Tensor& bias, LayerKV* cache, bool update) {
  Tensor attn = SelfAttention->forward(layer_norm->forward(hidden), Tensor(), bias, cache, update);
  return add(hidden, dropout->forward(attn));
}

T5LayerCrossAttention::T5LayerCrossAttention(const T5Config& c) {
  EncDecAttention = std::make_shared<T5Attention>(c, false);
  EncDecAttention->is_cross_attention = true;
  layer_norm = std::make_shared<T5LayerNorm>(c.d_model, c.layer_norm_epsilon);
  dropout = std::make_shared<nn::Dropout>(c.dropout_rate);
  register_module("EncDecAttention", &EncDecAttention);
  register_module("layer_norm", &layer_norm);
  register_module("dropout", &dropout);
}

Tensor T5LayerCrossAttention::forward(
    const Tensor& hidden,
    const Tensor& encoder_hidden_states,
    const Tensor& bias,
    LayerKV* cache,
    bool update) {
  Tensor attn = EncDecAttention->forward(
      layer_norm->forward(hidden), encoder_hidden_states, bias, cache, update);
  return add(hidden, dropout->forward(attn));
}

}  // namespace peftcpp::models::t5
