#include "models/llama/llama_settings.h"

#include "tensor/error.h"

namespace peftcpp::models::llama {
namespace {

// A top-level key of config.json without a typed field (transformers keeps such keys as
// attributes, so getattr(config, key) sees them).
const Json* extra(const HfConfig& config, std::string_view key) {
  const Json* j = config.extra_fields().find(key);
  return j == nullptr || j->is_null() ? nullptr : j;
}

std::optional<std::int64_t> first_id(const TokenIds& ids) {
  if (ids.is_none() || ids.ids().empty())
    return std::nullopt;
  return ids.ids().front();
}

void read_common(const HfConfig& config, LlamaSettings& s) {
  s.tie_word_embeddings = config.tie_word_embeddings;
  s.pad_token_id = first_id(config.pad_token_id);
  s.num_labels = config.num_labels();
  // LlamaForTokenClassification: classifier_dropout, else hidden_dropout, else 0.1.
  if (const Json* d = extra(config, "classifier_dropout")) {
    s.classifier_dropout = d->as_double();
  } else if (const Json* h = extra(config, "hidden_dropout")) {
    s.classifier_dropout = h->as_double();
  }
  if (const Json* p = extra(config, "partial_rotary_factor"))
    s.partial_rotary_factor = p->as_double();
  if (const Json* o = extra(config, "original_max_position_embeddings"))
    s.original_max_position_embeddings = o->as_int();
}

void check(const LlamaSettings& s, const HfConfig& config) {
  const std::string who = std::string("[models/llama] ") + config.class_name() + ": ";
  if (s.num_heads <= 0 || s.num_kv_heads <= 0 || s.num_heads % s.num_kv_heads != 0) {
    throw ValueError(
        who + "num_attention_heads (" + std::to_string(s.num_heads) +
        ") must be a positive multiple of num_key_value_heads (" + std::to_string(s.num_kv_heads) +
        ")");
  }
  // transformers' LLaMA rotates the whole head (a partial_rotary_factor < 1 fails there too).
  if (s.head_dim <= 0 || s.head_dim % 2 != 0 || s.rotary_dim() != s.head_dim) {
    throw ValueError(
        who + "head_dim " + std::to_string(s.head_dim) + " with partial_rotary_factor " +
        std::to_string(s.partial_rotary_factor) + " gives a rotary dim of " +
        std::to_string(s.rotary_dim()) + " (needs an even head_dim, rotated whole)");
  }
  if (!s.rope_scaling.is_null() && !s.rope_scaling.is_object())
    throw ValueError(who + "rope_scaling must be null or an object");
  const std::string t = s.rope_type();
  if (t != "default" && t != "linear" && t != "dynamic" && t != "yarn" && t != "longrope" &&
      t != "llama3") {
    throw ValueError(
        who + "unsupported rope_type '" + t +
        "' (default, linear, dynamic, yarn, longrope, llama3)");
  }
}

}  // namespace

std::string LlamaSettings::rope_type() const {
  if (!rope_scaling.is_object())
    return "default";
  if (const Json* t = rope_scaling.find("rope_type"); t != nullptr && t->is_string())
    return t->as_string();
  if (const Json* t = rope_scaling.find("type"); t != nullptr && t->is_string())
    return t->as_string();
  return "default";
}

std::int64_t LlamaSettings::rotary_dim() const {
  return static_cast<std::int64_t>(static_cast<double>(head_dim) * partial_rotary_factor);
}

LlamaSettings llama_settings(const HfConfig& config) {
  LlamaSettings s;
  if (const auto* c = dynamic_cast<const LlamaConfig*>(&config)) {
    s.prefix = "Llama";
    s.vocab_size = c->vocab_size;
    s.hidden_size = c->hidden_size;
    s.intermediate_size = c->intermediate_size;
    s.num_layers = c->num_hidden_layers;
    s.num_heads = c->num_attention_heads;
    s.num_kv_heads = c->kv_heads();
    s.head_dim = c->head_size();
    s.hidden_act = c->hidden_act;
    s.rms_norm_eps = c->rms_norm_eps;
    s.initializer_range = c->initializer_range;
    s.attention_dropout = c->attention_dropout;
    s.rope_theta = c->rope_theta;
    s.rope_scaling = c->rope_scaling;
    s.max_position_embeddings = c->max_position_embeddings;
    s.qkv_bias = s.o_bias = c->attention_bias;
    s.mlp_bias = c->mlp_bias;
    s.sliding_window.assign(static_cast<std::size_t>(s.num_layers), std::nullopt);
    s.qa_base_name = "transformer";
  } else if (const auto* m = dynamic_cast<const MistralConfig*>(&config)) {
    s.prefix = "Mistral";
    s.vocab_size = m->vocab_size;
    s.hidden_size = m->hidden_size;
    s.intermediate_size = m->intermediate_size;
    s.num_layers = m->num_hidden_layers;
    s.num_heads = m->num_attention_heads;
    s.num_kv_heads = m->kv_heads();
    s.head_dim = m->head_size();
    s.hidden_act = m->hidden_act;
    s.rms_norm_eps = m->rms_norm_eps;
    s.initializer_range = m->initializer_range;
    s.attention_dropout = m->attention_dropout;
    s.rope_theta = m->rope_theta;
    if (const Json* r = extra(config, "rope_scaling"))
      s.rope_scaling = *r;
    s.max_position_embeddings = m->max_position_embeddings;
    s.sliding_window.assign(static_cast<std::size_t>(s.num_layers), m->sliding_window);
    s.qa_base_name = "model";
  } else if (const auto* q = dynamic_cast<const Qwen2Config*>(&config)) {
    s.prefix = "Qwen2";
    s.vocab_size = q->vocab_size;
    s.hidden_size = q->hidden_size;
    s.intermediate_size = q->intermediate_size;
    s.num_layers = q->num_hidden_layers;
    s.num_heads = q->num_attention_heads;
    s.num_kv_heads = q->kv_heads();
    s.head_dim = q->head_size();
    s.hidden_act = q->hidden_act;
    s.rms_norm_eps = q->rms_norm_eps;
    s.initializer_range = q->initializer_range;
    s.attention_dropout = q->attention_dropout;
    s.rope_theta = q->rope_theta;
    s.rope_scaling = q->rope_scaling;
    s.max_position_embeddings = q->max_position_embeddings;
    s.qkv_bias = true;
    for (std::int64_t i = 0; i < s.num_layers; ++i) {
      const bool windowed = q->use_sliding_window && q->sliding_window && i >= q->max_window_layers;
      s.sliding_window.push_back(windowed ? q->sliding_window : std::nullopt);
    }
    s.qa_base_name = "transformer";
  } else {
    throw ValueError(
        std::string("[models/llama] expected a LlamaConfig, MistralConfig or ") +
        "Qwen2Config, got " + config.class_name());
  }
  read_common(config, s);
  check(s, config);
  return s;
}

}  // namespace peftcpp::models::llama
