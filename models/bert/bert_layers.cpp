// BERT's embeddings, self-attention (absolute and relative position variants), residual outputs,
// intermediate, layer, encoder and pooler. All heads go through one batched matmul.
#include <cmath>
#include <optional>
#include <utility>

#include "models/bert/bert.h"
#include "nn/functional.h"
#include "nn/layers/activation.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "nn/layers/norm.h"
#include "tensor/ops.h"

namespace peftcpp::models {
namespace {

// [B, T, C] -> [B, H, T, D].
Tensor split_heads(const Tensor& x, std::int64_t heads, std::int64_t head_dim) {
  return x.reshape({x.size(0), x.size(1), heads, head_dim}).permute({0, 2, 1, 3});
}

}  // namespace

BertEmbeddings::BertEmbeddings(const BertConfig& config)
    : absolute_(config.position_embedding_type == "absolute") {
  std::optional<std::int64_t> padding_idx;
  if (!config.pad_token_id.is_none() && !config.pad_token_id.ids().empty())
    padding_idx = config.pad_token_id.ids().front();
  word_embeddings =
      std::make_shared<nn::Embedding>(config.vocab_size, config.hidden_size, padding_idx);
  position_embeddings =
      std::make_shared<nn::Embedding>(config.max_position_embeddings, config.hidden_size);
  token_type_embeddings =
      std::make_shared<nn::Embedding>(config.type_vocab_size, config.hidden_size);
  layer_norm = std::make_shared<nn::LayerNorm>(config.hidden_size, config.layer_norm_eps);
  dropout = std::make_shared<nn::Dropout>(config.hidden_dropout_prob);
  register_module("word_embeddings", &word_embeddings);
  register_module("position_embeddings", &position_embeddings);
  register_module("token_type_embeddings", &token_type_embeddings);
  register_module("LayerNorm", &layer_norm);
  register_module("dropout", &dropout);
  position_ids = arange(config.max_position_embeddings, kInt64).unsqueeze(0);
  token_type_ids = zeros({1, config.max_position_embeddings}, kInt64);
  register_buffer("position_ids", &position_ids, false);
  register_buffer("token_type_ids", &token_type_ids, false);
}

Tensor BertEmbeddings::forward(
    const Tensor& input_ids,
    const Tensor& token_types,
    const Tensor& positions,
    const Tensor& inputs_embeds,
    std::int64_t past) {
  Tensor emb = inputs_embeds.defined() ? inputs_embeds : word_embeddings->forward(input_ids);
  const std::int64_t b = emb.size(0), t = emb.size(1);
  const Tensor tt = token_types.defined() ? token_types : zeros({b, t}, kInt64, emb.device());
  emb = add(emb, token_type_embeddings->forward(tt));
  if (absolute_) {
    const Tensor pos =
        positions.defined() ? positions : position_ids.narrow(1, past, t).to(emb.device());
    emb = add(emb, position_embeddings->forward(pos));
  }
  return dropout->forward(layer_norm->forward(emb));
}

BertSelfAttention::BertSelfAttention(const BertConfig& config)
    : num_heads_(config.num_attention_heads),
      head_dim_(
          config.num_attention_heads > 0 ? config.hidden_size / config.num_attention_heads : 0),
      max_positions_(config.max_position_embeddings),
      position_embedding_type_(config.position_embedding_type),
      attn_pdrop_(config.attention_probs_dropout_prob) {
  PEFTCPP_CHECK(
      num_heads_ > 0 && head_dim_ * num_heads_ == config.hidden_size,
      "[bert] hidden_size (",
      config.hidden_size,
      ") must be a positive multiple of num_attention_heads (",
      num_heads_,
      ")");
  const bool relative = position_embedding_type_ == "relative_key" ||
                        position_embedding_type_ == "relative_key_query";
  PEFTCPP_CHECK_T(
      ConfigError,
      relative || position_embedding_type_ == "absolute",
      "[bert] position_embedding_type '",
      position_embedding_type_,
      "' is not supported (absolute, relative_key, relative_key_query)");
  query = std::make_shared<nn::Linear>(config.hidden_size, config.hidden_size);
  key = std::make_shared<nn::Linear>(config.hidden_size, config.hidden_size);
  value = std::make_shared<nn::Linear>(config.hidden_size, config.hidden_size);
  dropout = std::make_shared<nn::Dropout>(attn_pdrop_);
  register_module("query", &query);
  register_module("key", &key);
  register_module("value", &value);
  register_module("dropout", &dropout);
  if (relative) {
    distance_embedding = std::make_shared<nn::Embedding>(2 * max_positions_ - 1, head_dim_);
    register_module("distance_embedding", &distance_embedding);
  }
}

// einsum("bhld,lrd->bhlr", q, E) (+ einsum("bhrd,lrd->bhlr", k, E) for relative_key_query) with
// E = distance_embedding(l - r + max_positions - 1), as batched matmuls over l (and r).
Tensor BertSelfAttention::relative_scores(const Tensor& q, const Tensor& k, bool has_past) {
  const std::int64_t b = q.size(0), l = q.size(2), r = k.size(2);
  PEFTCPP_CHECK(
      l <= max_positions_ && r <= max_positions_,
      "[bert] relative position attention over ",
      r,
      " keys exceeds max_position_embeddings = ",
      max_positions_);
  // With cached keys transformers puts every query at the last key position.
  const Tensor pos_l = has_past ? full({l}, static_cast<double>(r - 1), kInt64, q.device())
                                : arange(l, kInt64, q.device());
  const Tensor distance =
      add(sub(pos_l.unsqueeze(1), arange(r, kInt64, q.device()).unsqueeze(0)),
          static_cast<double>(max_positions_ - 1));
  const Tensor e = distance_embedding->forward(distance).to(q.dtype());  // [L, R, D]
  const std::int64_t bh = b * num_heads_;
  Tensor scores = matmul(q.permute({2, 0, 1, 3}).reshape({l, bh, head_dim_}), e.transpose(1, 2))
                      .reshape({l, b, num_heads_, r})
                      .permute({1, 2, 0, 3});
  if (position_embedding_type_ == "relative_key_query") {
    const Tensor by_key =
        matmul(k.permute({2, 0, 1, 3}).reshape({r, bh, head_dim_}), e.permute({1, 2, 0}))
            .reshape({r, b, num_heads_, l})
            .permute({1, 2, 3, 0});
    scores = add(scores, by_key);
  }
  return scores;
}

Tensor BertSelfAttention::forward(const Tensor& x, const Tensor& mask, const LayerKV* past) {
  const std::int64_t b = x.size(0), t = x.size(1), c = num_heads_ * head_dim_;
  const Tensor q = split_heads(query->forward(x), num_heads_, head_dim_);
  Tensor k = split_heads(key->forward(x), num_heads_, head_dim_);
  Tensor v = split_heads(value->forward(x), num_heads_, head_dim_);
  const bool has_past = past != nullptr && past->key.defined();
  if (has_past) {
    const Tensor& pk = past->key;
    PEFTCPP_CHECK_SHAPE(
        pk.dim() == 4 && pk.size(0) == b && pk.size(1) == num_heads_ && pk.size(3) == head_dim_ &&
            past->value.defined() && past->value.shape() == pk.shape(),
        "[bert] past key/value ",
        shape_str(pk.shape()),
        " do not fit [batch ",
        b,
        ", heads ",
        num_heads_,
        ", past, head_dim ",
        head_dim_,
        "]");
    k = cat({pk, k}, 2);
    v = cat({past->value, v}, 2);
  }
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim_));
  Tensor add_mask = mask;
  if (distance_embedding) {
    // (qk + rel) / sqrt(D) + mask == qk * scale + (rel * scale + mask).
    const Tensor rel = mul(relative_scores(q, k, has_past), scale);
    add_mask = mask.defined() ? add(rel, mask) : rel;
  }
  Tensor ctx;
  if (is_training() && attn_pdrop_ > 0.0) {
    Tensor scores = mul(matmul(q, k.mT()), scale);
    if (add_mask.defined())
      scores = add(scores, add_mask);
    ctx = matmul(dropout->forward(softmax(scores, -1)), v);
  } else {
    ctx = nn::F::scaled_dot_product_attention(q, k, v, add_mask, 0.0, false, scale);
  }
  return ctx.permute({0, 2, 1, 3}).reshape({b, t, c});
}

BertResidualOutput::BertResidualOutput(
    const BertConfig& config, std::int64_t in_features, std::string type)
    : type_(std::move(type)) {
  dense = std::make_shared<nn::Linear>(in_features, config.hidden_size);
  layer_norm = std::make_shared<nn::LayerNorm>(config.hidden_size, config.layer_norm_eps);
  dropout = std::make_shared<nn::Dropout>(config.hidden_dropout_prob);
  register_module("dense", &dense);
  register_module("LayerNorm", &layer_norm);
  register_module("dropout", &dropout);
}

Tensor BertResidualOutput::forward(const Tensor& x, const Tensor& residual) {
  return layer_norm->forward(add(dropout->forward(dense->forward(x)), residual));
}

BertAttention::BertAttention(const BertConfig& config) {
  self_attn = std::make_shared<BertSelfAttention>(config);
  output = std::make_shared<BertResidualOutput>(config, config.hidden_size, "BertSelfOutput");
  register_module("self", &self_attn);
  register_module("output", &output);
}

Tensor BertAttention::forward(const Tensor& x, const Tensor& mask, const LayerKV* past) {
  return output->forward(self_attn->forward(x, mask, past), x);
}

BertIntermediate::BertIntermediate(const BertConfig& config) {
  dense = std::make_shared<nn::Linear>(config.hidden_size, config.intermediate_size);
  intermediate_act_fn = nn::get_activation(config.hidden_act);
  register_module("dense", &dense);
  register_module("intermediate_act_fn", &intermediate_act_fn);
}

Tensor BertIntermediate::forward(const Tensor& x) {
  return intermediate_act_fn->forward(dense->forward(x));
}

BertLayer::BertLayer(const BertConfig& config) {
  attention = std::make_shared<BertAttention>(config);
  intermediate = std::make_shared<BertIntermediate>(config);
  output = std::make_shared<BertResidualOutput>(config, config.intermediate_size, "BertOutput");
  register_module("attention", &attention);
  register_module("intermediate", &intermediate);
  register_module("output", &output);
}

Tensor BertLayer::forward(const Tensor& x, const Tensor& mask, const LayerKV* past) {
  const Tensor attended = attention->forward(x, mask, past);
  return output->forward(intermediate->forward(attended), attended);
}

BertPooler::BertPooler(const BertConfig& config) {
  dense = std::make_shared<nn::Linear>(config.hidden_size, config.hidden_size);
  activation = std::make_shared<nn::Tanh>();
  register_module("dense", &dense);
  register_module("activation", &activation);
}

Tensor BertPooler::forward(const Tensor& hidden) {
  return activation->forward(dense->forward(hidden.select(1, 0)));
}

BertEncoder::BertEncoder(const BertConfig& config) {
  layer = std::make_shared<nn::ModuleList>();
  for (std::int64_t i = 0; i < config.num_hidden_layers; ++i)
    layer->push_back(std::make_shared<BertLayer>(config));
  register_module("layer", &layer);
}

}  // namespace peftcpp::models
