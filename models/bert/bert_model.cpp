// BertModel: input checks, transformers' extended attention mask, the layer stack and the pooler.
#include <limits>
#include <string>

#include "models/bert/bert.h"
#include "tensor/ops.h"

namespace peftcpp::models {
BertModel::BertModel(const BertConfig& config, bool add_pooling_layer) : config_(config) {
  for (const char* flag : {"is_decoder", "add_cross_attention"}) {
    const Json* v = config.extra_fields().find(flag);
    PEFTCPP_CHECK_T(
        ConfigError,
        v == nullptr || !v->is_bool() || !v->as_bool(),
        "[bert] ",
        flag,
        "=true (BERT as a decoder) is not supported; only the encoder is");
  }
  PEFTCPP_CHECK(
      config.vocab_size > 0 && config.max_position_embeddings > 0 && config.type_vocab_size > 0 &&
          config.num_hidden_layers >= 0,
      "[bert] config needs positive vocab_size, max_position_embeddings, type_vocab_size");
  embeddings = std::make_shared<BertEmbeddings>(config);
  encoder = std::make_shared<BertEncoder>(config);
  register_module("embeddings", &embeddings);
  register_module("encoder", &encoder);
  if (add_pooling_layer) {
    pooler = std::make_shared<BertPooler>(config);
    register_module("pooler", &pooler);
  }
}

ModelOutput BertModel::forward(const ModelInputs& in) {
  PEFTCPP_CHECK(
      in.input_ids.defined() != in.inputs_embeds.defined(),
      "[bert] pass exactly one of input_ids and inputs_embeds (got ",
      in.input_ids.defined() ? "both" : "neither",
      ")");
  if (in.input_ids.defined()) {
    PEFTCPP_CHECK_SHAPE(
        in.input_ids.dim() == 2,
        "[bert] input_ids must be [batch, seq], got ",
        shape_str(in.input_ids.shape()));
  } else {
    PEFTCPP_CHECK_SHAPE(
        in.inputs_embeds.dim() == 3 && in.inputs_embeds.size(2) == config_.hidden_size,
        "[bert] inputs_embeds must be [batch, seq, hidden_size=",
        config_.hidden_size,
        "], got ",
        shape_str(in.inputs_embeds.shape()));
  }
  const Tensor& lead = in.input_ids.defined() ? in.input_ids : in.inputs_embeds;
  const std::int64_t b = lead.size(0), t = lead.size(1);
  check_id_tensor(in.input_ids, "[bert]", "input_ids", b, t);
  check_id_tensor(in.token_type_ids, "[bert]", "token_type_ids", b, t);
  check_id_tensor(in.position_ids, "[bert]", "position_ids", b, t);

  const std::size_t n_layer = encoder->layer->size();
  const KVCache* cache = in.past_key_values;
  const bool has_past = cache != nullptr && !cache->self.empty();
  PEFTCPP_CHECK(
      !has_past || cache->self.size() == n_layer,
      "[bert] past_key_values has ",
      has_past ? cache->self.size() : 0,
      " layers, the model ",
      n_layer);
  const std::int64_t past = has_past ? cache->seq_length() : 0;
  PEFTCPP_CHECK(
      in.position_ids.defined() || past + t <= config_.max_position_embeddings,
      "[bert] ",
      past,
      " prefix + ",
      t,
      " positions exceed max_position_embeddings = ",
      config_.max_position_embeddings);

  Tensor hidden =
      embeddings->forward(in.input_ids, in.token_type_ids, in.position_ids, in.inputs_embeds, past);

  // transformers' get_extended_attention_mask: (1 - mask) * finfo.min, [B, 1, 1, S].
  Tensor mask;
  if (in.attention_mask.defined()) {
    const std::int64_t s = past + t;
    PEFTCPP_CHECK_SHAPE(
        in.attention_mask.dim() == 2 && in.attention_mask.size(0) == b &&
            in.attention_mask.size(1) == s,
        "[bert] attention_mask ",
        shape_str(in.attention_mask.shape()),
        " must be [batch ",
        b,
        ", prefix + tokens ",
        s,
        "]");
    mask = mul(rsub(in.attention_mask.to(hidden.dtype()), 1.0), finfo_min(hidden.dtype()))
               .view({b, 1, 1, s});
  }

  ModelOutput out;
  for (std::size_t i = 0; i < n_layer; ++i) {
    if (in.output_hidden_states)
      out.hidden_states.push_back(hidden);
    const LayerKV* kv = has_past ? &cache->self[i] : nullptr;
    hidden =
        encoder->layer->at_as<BertLayer>(static_cast<std::int64_t>(i))->forward(hidden, mask, kv);
  }
  if (in.output_hidden_states)
    out.hidden_states.push_back(hidden);
  out.last_hidden_state = hidden;
  if (pooler)
    out.pooler_output = pooler->forward(hidden);
  return out;
}

}  // namespace peftcpp::models
