// GPT2Model: embeddings, the attention masks of transformers' eager path, the block stack and
// the KV cache bookkeeping.
#include <limits>
#include <string>

#include "models/gpt2/gpt2.h"
#include "nn/layers/activation.h"
#include "nn/layers/embedding.h"
#include "nn/layers/norm.h"
#include "tensor/ops.h"

namespace peftcpp::models {
namespace {


std::string shape_or_undefined(const Tensor& t) {
  return t.defined() ? shape_str(t.shape()) : std::string("undefined");
}


}  // namespace

GPT2AttentionMask gpt2_attention_mask(
    const Tensor& attention_mask,
    std::int64_t b,
    std::int64_t t,
    std::int64_t past,
    DType dtype,
    Device device) {
  const std::int64_t s = past + t;
  GPT2AttentionMask m;
  m.causal =
      ge(arange(past, past + t, 1.0, kInt64, device).unsqueeze(1),
         arange(s, kInt64, device).unsqueeze(0));
  const double lowest = finfo_min(dtype);
  Tensor causal_add = masked_fill(zeros({t, s}, dtype, device), logical_not(m.causal), lowest);
  if (!attention_mask.defined()) {
    m.additive = causal_add.view({1, 1, t, s});
    return m;
  }
  PEFTCPP_CHECK_SHAPE(
      attention_mask.dim() == 2 && attention_mask.size(0) == b && attention_mask.size(1) == s,
      "[gpt2] attention_mask ",
      shape_str(attention_mask.shape()),
      " must be [batch ",
      b,
      ", past + new positions ",
      s,
      "]");
  m.padding = mul(rsub(attention_mask.to(dtype), 1.0), lowest).view({b, 1, 1, s});
  m.additive = add(causal_add, m.padding);
  return m;
}

GPT2Model::GPT2Model(const GPT2Config& config) : config_(config) {
  const Json* cross = config.extra_fields().find("add_cross_attention");
  PEFTCPP_CHECK_T(
      ConfigError,
      cross == nullptr || !cross->is_bool() || !cross->as_bool(),
      "[gpt2] add_cross_attention=true (GPT-2 as an encoder-decoder's decoder) is not supported");
  PEFTCPP_CHECK(
      config.n_layer >= 0 && config.vocab_size > 0 && config.n_positions > 0,
      "[gpt2] config needs vocab_size > 0, n_positions > 0, n_layer >= 0; got ",
      config.vocab_size,
      ", ",
      config.n_positions,
      ", ",
      config.n_layer);
  wte = std::make_shared<nn::Embedding>(config.vocab_size, config.n_embd);
  wpe = std::make_shared<nn::Embedding>(config.n_positions, config.n_embd);
  drop = std::make_shared<nn::Dropout>(config.embd_pdrop);
  h = std::make_shared<nn::ModuleList>();
  for (std::int64_t i = 0; i < config.n_layer; ++i)
    h->push_back(std::make_shared<GPT2Block>(config, i));
  ln_f = std::make_shared<nn::LayerNorm>(config.n_embd, config.layer_norm_epsilon);
  register_module("wte", &wte);
  register_module("wpe", &wpe);
  register_module("drop", &drop);
  register_module("h", &h);
  register_module("ln_f", &ln_f);
}

ModelOutput GPT2Model::forward(const ModelInputs& in) {
  PEFTCPP_CHECK(
      in.input_ids.defined() != in.inputs_embeds.defined(),
      "[gpt2] pass exactly one of input_ids and inputs_embeds (got ",
      in.input_ids.defined() ? "both" : "neither",
      ")");
  if (in.input_ids.defined()) {
    PEFTCPP_CHECK_SHAPE(
        in.input_ids.dim() == 2,
        "[gpt2] input_ids must be [batch, seq], got ",
        shape_str(in.input_ids.shape()));
  } else {
    PEFTCPP_CHECK_SHAPE(
        in.inputs_embeds.dim() == 3 && in.inputs_embeds.size(2) == config_.n_embd,
        "[gpt2] inputs_embeds must be [batch, seq, n_embd=",
        config_.n_embd,
        "], got ",
        shape_or_undefined(in.inputs_embeds));
  }
  const Tensor& lead = in.input_ids.defined() ? in.input_ids : in.inputs_embeds;
  const std::int64_t b = lead.size(0), t = lead.size(1);
  check_id_tensor(in.input_ids, "[gpt2]", "input_ids", b, t);
  check_id_tensor(in.token_type_ids, "[gpt2]", "token_type_ids", b, t);
  check_id_tensor(in.position_ids, "[gpt2]", "position_ids", b, t);

  KVCache* cache = in.past_key_values;
  const std::size_t n_layer = h->size();
  if (cache != nullptr && cache->self.empty() && in.use_cache)
    cache->self.resize(n_layer);
  const bool has_cache = cache != nullptr && !cache->self.empty();
  PEFTCPP_CHECK(
      !has_cache || cache->self.size() == n_layer,
      "[gpt2] past_key_values has ",
      has_cache ? cache->self.size() : 0,
      " layers, the model ",
      n_layer);
  const std::int64_t past = has_cache ? cache->seq_length() : 0;
  PEFTCPP_CHECK(
      in.position_ids.defined() || past + t <= config_.n_positions,
      "[gpt2] ",
      past,
      " cached + ",
      t,
      " new positions exceed n_positions = ",
      config_.n_positions);

  Tensor hidden = in.inputs_embeds.defined() ? in.inputs_embeds : wte->forward(in.input_ids);
  const Tensor position_ids =
      in.position_ids.defined() ? in.position_ids
                                : arange(past, past + t, 1.0, kInt64, hidden.device()).unsqueeze(0);
  hidden = add(hidden, wpe->forward(position_ids));
  if (in.token_type_ids.defined())
    hidden = add(hidden, wte->forward(in.token_type_ids));
  hidden = drop->forward(hidden);

  const GPT2AttentionMask mask =
      gpt2_attention_mask(in.attention_mask, b, t, past, hidden.dtype(), hidden.device());
  ModelOutput out;
  for (std::size_t i = 0; i < n_layer; ++i) {
    if (in.output_hidden_states)
      out.hidden_states.push_back(hidden);
    LayerKV* kv = has_cache ? &cache->self[i] : nullptr;
    hidden =
        h->at_as<GPT2Block>(static_cast<std::int64_t>(i))->forward(hidden, mask, kv, in.use_cache);
  }
  hidden = ln_f->forward(hidden);
  if (in.output_hidden_states)
    out.hidden_states.push_back(hidden);
  out.last_hidden_state = hidden;
  return out;
}

}  // namespace peftcpp::models
