// T5Block and T5Stack; see t5_stack.h. Port of transformers/models/t5/modeling_t5.py @9feae5fb.
#include "models/t5/t5_stack.h"

#include <string>

#include "tensor/ops.h"

namespace peftcpp::models::t5 {
namespace {

std::string shape_or_undefined(const Tensor& t) {
  return t.defined() ? shape_str(t.shape()) : std::string("undefined");
}

// transformers clamps float16 activations that overflowed to inf back into range.
Tensor clamp_fp16_inf(const Tensor& h) {
  if (h.dtype() != kFloat16 || !any(isinf(h)).item<bool>())
    return h;
  const double limit = 65504.0 - 1000.0;
  return clamp(h, -limit, limit);
}

// [B, L] attention mask (1 = attend) -> bool [B, 1, 1, L].
Tensor keep_mask(const Tensor& mask) {
  return ne(mask, 0.0).unsqueeze(1).unsqueeze(1);
}

// 0 where `allowed`, finfo(dtype).min elsewhere.
Tensor additive_mask(const Tensor& allowed, DType dtype) {
  return masked_fill(
      zeros(allowed.shape(), dtype, allowed.device()), logical_not(allowed), finfo_min(dtype));
}

}  // namespace

// ---- T5Block -----------------------------------------------------------------------------

T5Block::T5Block(const T5Config& c, bool decoder, bool has_relative_attention_bias)
    : is_decoder(decoder) {
  layer = std::make_shared<nn::ModuleList>();
  layer->push_back(std::make_shared<T5LayerSelfAttention>(c, has_relative_attention_bias));
  if (is_decoder)
    layer->push_back(std::make_shared<T5LayerCrossAttention>(c));
  layer->push_back(std::make_shared<T5LayerFF>(c));
  register_module("layer", &layer);
}

std::shared_ptr<T5LayerSelfAttention> T5Block::self_attention() const {
  auto m = layer->at_as<T5LayerSelfAttention>(0);
  PEFTCPP_CHECK(m != nullptr, "[t5] layer.0 of a T5Block is not a T5LayerSelfAttention");
  return m;
}

std::shared_ptr<T5LayerCrossAttention> T5Block::cross_attention() const {
  auto m = is_decoder ? layer->at_as<T5LayerCrossAttention>(1) : nullptr;
  PEFTCPP_CHECK(m != nullptr, "[t5] layer.1 of a decoder T5Block is not a T5LayerCrossAttention");
  return m;
}

std::shared_ptr<nn::UnaryModule> T5Block::feed_forward() const {
  auto m = layer->at_as<nn::UnaryModule>(-1);
  PEFTCPP_CHECK(m != nullptr, "[t5] the last layer of a T5Block is not a unary module");
  return m;
}

Tensor T5Block::forward(
    const Tensor& hidden,
    const Tensor& self_bias,
    const Tensor& encoder_hidden_states,
    const Tensor& cross_bias,
    LayerKV* self_cache,
    LayerKV* cross_cache,
    bool update) {
  Tensor h = clamp_fp16_inf(self_attention()->forward(hidden, self_bias, self_cache, update));
  if (is_decoder) {
    h = clamp_fp16_inf(
        cross_attention()->forward(h, encoder_hidden_states, cross_bias, cross_cache, update));
  }
  return clamp_fp16_inf(feed_forward()->forward(h));
}

// ---- T5Stack -----------------------------------------------------------------------------

T5Stack::T5Stack(
    const T5Config& c,
    bool decoder,
    std::int64_t num_layers,
    std::shared_ptr<nn::UnaryModule> embed)
    : is_decoder(decoder), embed_tokens(std::move(embed)) {
  PEFTCPP_CHECK(num_layers >= 1, "[t5] a T5Stack needs at least one layer, got ", num_layers);
  block = std::make_shared<nn::ModuleList>();
  for (std::int64_t i = 0; i < num_layers; ++i)
    block->push_back(std::make_shared<T5Block>(c, is_decoder, i == 0));
  final_layer_norm = std::make_shared<T5LayerNorm>(c.d_model, c.layer_norm_epsilon);
  dropout = std::make_shared<nn::Dropout>(c.dropout_rate);
  register_module("embed_tokens", &embed_tokens);
  register_module("block", &block);
  register_module("final_layer_norm", &final_layer_norm);
  register_module("dropout", &dropout);
}

std::shared_ptr<T5Block> T5Stack::block_at(std::int64_t i) const {
  auto b = block->at_as<T5Block>(i);
  PEFTCPP_CHECK(b != nullptr, "[t5] block.", i, " is not a T5Block");
  return b;
}

Tensor T5Stack::self_attention_bias(const Tensor& embeds, const Tensor& mask, std::int64_t past) {
  const std::int64_t batch = embeds.size(0), len = embeds.size(1), keys = past + len;
  const char* side = is_decoder ? "decoder" : "encoder";
  if (mask.defined()) {
    PEFTCPP_CHECK_SHAPE(
        mask.dim() == 2 && mask.size(0) == batch && mask.size(1) == keys,
        "[t5] ",
        side,
        " attention mask ",
        shape_str(mask.shape()),
        " must be [batch ",
        batch,
        ", ",
        is_decoder ? "past + length " : "length ",
        keys,
        "]");
  }
  Tensor bias = block_at(0)->self_attention()->SelfAttention->compute_bias(
      len, keys, past, /*bidirectional=*/!is_decoder);  // [1, H, T, S]
  Tensor allowed;
  if (is_decoder) {
    // Query i sits at position past + i and sees keys 0 .. past + i.
    allowed = ge(arange(past, past + len, 1.0, kInt64, embeds.device()).unsqueeze(1),
                 arange(keys, kInt64, embeds.device()).unsqueeze(0))
                  .unsqueeze(0)
                  .unsqueeze(0);  // [1, 1, T, S]
    if (mask.defined())
      allowed = logical_and(allowed, keep_mask(mask));
  } else if (mask.defined()) {
    allowed = keep_mask(mask);  // [B, 1, 1, S]
  }
  if (!allowed.defined())
    return bias;
  Tensor add_mask = additive_mask(allowed, embeds.dtype());
  return add(bias, add_mask.dtype() == bias.dtype() ? add_mask : add_mask.to(bias.dtype()));
}

T5StackOutput T5Stack::forward(const T5StackInputs& in) {
  const char* side = is_decoder ? "decoder" : "encoder";
  PEFTCPP_CHECK(
      in.input_ids.defined() != in.inputs_embeds.defined(),
      "[t5] ",
      side,
      ": pass exactly one of input_ids / inputs_embeds (got ",
      in.input_ids.defined() ? "both" : "neither",
      ")");
  Tensor embeds =
      in.inputs_embeds.defined() ? in.inputs_embeds : embed_tokens->forward(in.input_ids);
  PEFTCPP_CHECK_SHAPE(
      embeds.dim() == 3,
      "[t5] ",
      side,
      ": embeddings must be [batch, seq, d_model], got ",
      shape_str(embeds.shape()),
      in.input_ids.defined() ? " (input_ids must be [batch, seq])" : "");
  const std::int64_t batch = embeds.size(0);
  KVCache* cache = is_decoder ? in.cache : nullptr;
  const std::int64_t past = cache != nullptr ? cache->seq_length() : 0;
  const std::int64_t n = static_cast<std::int64_t>(block->size());

  Tensor self_bias = self_attention_bias(embeds, in.attention_mask, past);
  Tensor cross_bias;
  if (is_decoder) {
    const bool have_cross_cache =
        cache != nullptr && !cache->cross.empty() && cache->cross.front().key.defined();
    PEFTCPP_CHECK(
        in.encoder_hidden_states.defined() || have_cross_cache,
        "[t5] decoder: needs encoder_hidden_states (or a cache holding the cross-attention "
        "keys/values)");
    const std::int64_t src = in.encoder_hidden_states.defined() ? in.encoder_hidden_states.size(1)
                                                                : cache->cross.front().key.size(2);
    if (in.encoder_attention_mask.defined()) {
      const Tensor& m = in.encoder_attention_mask;
      PEFTCPP_CHECK_SHAPE(
          m.dim() == 2 && m.size(0) == batch && m.size(1) == src,
          "[t5] encoder attention mask ",
          shape_str(m.shape()),
          " must be [batch ",
          batch,
          ", encoder length ",
          src,
          "]");
      cross_bias = additive_mask(keep_mask(m), embeds.dtype());
    }
    if (in.encoder_hidden_states.defined()) {
      PEFTCPP_CHECK_SHAPE(
          in.encoder_hidden_states.dim() == 3 && in.encoder_hidden_states.size(0) == batch,
          "[t5] decoder: encoder_hidden_states ",
          shape_or_undefined(in.encoder_hidden_states),
          " must be [batch ",
          batch,
          ", encoder length, d_model]");
    }
  }
  if (cache != nullptr && in.use_cache) {
    if (static_cast<std::int64_t>(cache->self.size()) < n)
      cache->self.resize(static_cast<std::size_t>(n));
    if (static_cast<std::int64_t>(cache->cross.size()) < n)
      cache->cross.resize(static_cast<std::size_t>(n));
  }
  auto entry = [n](std::vector<LayerKV>& v, std::int64_t i) -> LayerKV* {
    return i < static_cast<std::int64_t>(v.size()) && i < n ? &v[static_cast<std::size_t>(i)]
                                                            : nullptr;
  };

  T5StackOutput out;
  Tensor hidden = dropout->forward(embeds);
  for (std::int64_t i = 0; i < n; ++i) {
    if (in.output_hidden_states)
      out.hidden_states.push_back(hidden);
    LayerKV* self_entry = cache != nullptr ? entry(cache->self, i) : nullptr;
    LayerKV* cross_entry = cache != nullptr ? entry(cache->cross, i) : nullptr;
    PEFTCPP_CHECK(
        past == 0 || (self_entry != nullptr && self_entry->key.defined() &&
                      self_entry->key.dim() == 4 && self_entry->key.size(2) == past),
        "[t5] decoder: the cache holds ",
        past,
        " past positions for layer 0 but not for layer ",
        i);
    hidden = block_at(i)->forward(
        hidden,
        self_bias,
        in.encoder_hidden_states,
        cross_bias,
        self_entry,
        cross_entry,
        in.use_cache);
  }
  hidden = dropout->forward(final_layer_norm->forward(hidden));
  if (in.output_hidden_states)
    out.hidden_states.push_back(hidden);
  out.last_hidden_state = hidden;
  return out;
}

}  // namespace peftcpp::models::t5
