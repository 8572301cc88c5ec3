// Fields and __init__ logic of each supported transformers config (9feae5fb, 4.48.0.dev0):
// configuration_{llama,mistral,qwen2,gpt2,bert,t5}.py and
// modeling_rope_utils.rope_config_validation.
#include <set>

#include "io/json/field_visitor.h"
#include "io/json/hf_config.h"

namespace peftcpp {

using json_detail::FieldVisitor;
using json_detail::in_range;
using json_detail::non_negative;
using json_detail::positive;

namespace {

// rope_scaling: BC copy of "type" into "rope_type", then rope_config_validation: a known rope_type,
// its required keys present; factor < 1 and unexpected keys are warnings as in transformers.
void resolve_rope_scaling(FieldVisitor& v, Json& rope) {
  if (rope.is_null()) {
    return;
  }
  if (!rope.is_object()) {
    v.fail("rope_scaling", std::string("must be null or an object, got ") + rope.type_name());
  }
  JsonObject& r = rope.as_object();
  if (const Json* t = r.find("type")) {
    const Json copy = *t;
    r.set("rope_type", copy);
  }
  const Json* type = r.find("rope_type");
  if (type == nullptr || !type->is_string()) {
    v.fail("rope_scaling", "needs a string 'rope_type' (or 'type')");
  }
  const std::string& t = type->as_string();
  std::set<std::string> required = {"rope_type"};
  std::set<std::string> optional;
  if (t == "default") {
  } else if (t == "linear" || t == "dynamic") {
    required.insert("factor");
  } else if (t == "yarn") {
    required.insert("factor");
    optional = {"attention_factor", "beta_fast", "beta_slow"};
  } else if (t == "longrope") {
    required.insert({"short_factor", "long_factor"});
    optional = {"attention_factor", "factor", "original_max_position_embeddings"};
  } else if (t == "llama3") {
    required.insert(
        {"factor", "original_max_position_embeddings", "low_freq_factor", "high_freq_factor"});
  } else {
    v.fail(
        "rope_scaling",
        "unknown rope_type '" + t +
            "'; expected default, linear, dynamic, yarn, longrope or llama3");
  }
  for (const std::string& k : required) {
    if (!r.contains(k)) {
      v.fail("rope_scaling", "rope_type '" + t + "' needs the key '" + k + "'");
    }
  }
  for (const auto& [k, value] : r) {
    if (k != "type" && !required.count(k) && !optional.count(k)) {
      v.warn("rope_scaling", "unrecognized key '" + k + "' for rope_type '" + t + "'");
    }
  }
  if (const Json* f = r.find("factor"); f != nullptr && t != "longrope") {
    if (!f->is_number() || f->as_double() < 1.0) {
      v.warn("rope_scaling", "factor must be a float >= 1, got " + f->dump());
    }
  }
  if (t == "llama3") {
    const Json& lo = r.at("low_freq_factor");
    const Json& hi = r.at("high_freq_factor");
    if (!lo.is_number() || !hi.is_number()) {
      v.fail("rope_scaling", "low_freq_factor and high_freq_factor must be numbers");
    }
    if (hi.as_double() <= lo.as_double()) {
      v.fail(
          "rope_scaling",
          "high_freq_factor must be > low_freq_factor, got " + hi.dump() + " <= " + lo.dump());
    }
  }
}

std::string rope_type_of(const Json& rope) {
  if (const Json* t = rope.find("rope_type"); t != nullptr && t->is_string()) {
    return t->as_string();
  }
  if (const Json* t = rope.find("type"); t != nullptr && t->is_string()) {
    return t->as_string();
  }
  return "default";
}

}  // namespace

// ------------------------------------------------------------------ llama

void LlamaConfig::visit_fields(FieldVisitor& v) {
  HfConfig::visit_fields(v);
  v("vocab_size", vocab_size, positive());
  v("hidden_size", hidden_size, positive());
  v("intermediate_size", intermediate_size, positive());
  v("num_hidden_layers", num_hidden_layers, non_negative());
  v("num_attention_heads", num_attention_heads, positive());
  v("num_key_value_heads", num_key_value_heads, positive());
  v("hidden_act", hidden_act);
  v("max_position_embeddings", max_position_embeddings, positive());
  v("initializer_range", initializer_range);
  v("rms_norm_eps", rms_norm_eps, positive());
  v("use_cache", use_cache);
  v("pretraining_tp", pretraining_tp, positive());
  v("rope_theta", rope_theta, positive());
  v("rope_scaling", rope_scaling);
  v("attention_bias", attention_bias);
  v("attention_dropout", attention_dropout, in_range(0.0, 1.0));
  v("mlp_bias", mlp_bias);
  v("head_dim", head_dim, positive());
}

void LlamaConfig::resolve(FieldVisitor& v) {
  HfConfig::resolve(v);
  num_key_value_heads = kv_heads();
  head_dim = head_size();
  resolve_rope_scaling(v, rope_scaling);
}

std::string LlamaConfig::rope_type() const {
  return rope_type_of(rope_scaling);
}

// ------------------------------------------------------------------ mistral

void MistralConfig::visit_fields(FieldVisitor& v) {
  HfConfig::visit_fields(v);
  v("vocab_size", vocab_size, positive());
  v("hidden_size", hidden_size, positive());
  v("intermediate_size", intermediate_size, positive());
  v("num_hidden_layers", num_hidden_layers, non_negative());
  v("num_attention_heads", num_attention_heads, positive());
  v("num_key_value_heads", num_key_value_heads, positive());
  v("head_dim", head_dim, positive());
  v("hidden_act", hidden_act);
  v("max_position_embeddings", max_position_embeddings, positive());
  v("initializer_range", initializer_range);
  v("rms_norm_eps", rms_norm_eps, positive());
  v("use_cache", use_cache);
  v("rope_theta", rope_theta, positive());
  v("sliding_window", sliding_window, positive());
  v("attention_dropout", attention_dropout, in_range(0.0, 1.0));
}

void MistralConfig::resolve(FieldVisitor& v) {
  HfConfig::resolve(v);
  num_key_value_heads = kv_heads();
  head_dim = head_size();
}

// ------------------------------------------------------------------ qwen2

void Qwen2Config::visit_fields(FieldVisitor& v) {
  HfConfig::visit_fields(v);
  v("vocab_size", vocab_size, positive());
  v("hidden_size", hidden_size, positive());
  v("intermediate_size", intermediate_size, positive());
  v("num_hidden_layers", num_hidden_layers, non_negative());
  v("num_attention_heads", num_attention_heads, positive());
  v("num_key_value_heads", num_key_value_heads, positive());
  v("hidden_act", hidden_act);
  v("max_position_embeddings", max_position_embeddings, positive());
  v("initializer_range", initializer_range);
  v("rms_norm_eps", rms_norm_eps, positive());
  v("use_cache", use_cache);
  v("rope_theta", rope_theta, positive());
  v("rope_scaling", rope_scaling);
  v("use_sliding_window", use_sliding_window);
  v("sliding_window", sliding_window, positive());
  v("max_window_layers", max_window_layers, non_negative());
  v("attention_dropout", attention_dropout, in_range(0.0, 1.0));
}

void Qwen2Config::resolve(FieldVisitor& v) {
  HfConfig::resolve(v);
  num_key_value_heads = kv_heads();
  if (!use_sliding_window) {
    sliding_window.reset();
  }
  resolve_rope_scaling(v, rope_scaling);
}

std::string Qwen2Config::rope_type() const {
  return rope_type_of(rope_scaling);
}

// ------------------------------------------------------------------ gpt2

void GPT2Config::visit_fields(FieldVisitor& v) {
  HfConfig::visit_fields(v);
  // attribute_map: transformers stores these common names under GPT-2's own.
  v.alias("hidden_size", n_embd);
  v.alias("max_position_embeddings", n_positions);
  v.alias("num_attention_heads", n_head);
  v.alias("num_hidden_layers", n_layer);
  v("vocab_size", vocab_size, positive());
  v("n_positions", n_positions, positive());
  v("n_embd", n_embd, positive());
  v("n_layer", n_layer, non_negative());
  v("n_head", n_head, positive());
  v("n_inner", n_inner, positive());
  v("activation_function", activation_function);
  v("resid_pdrop", resid_pdrop, in_range(0.0, 1.0));
  v("embd_pdrop", embd_pdrop, in_range(0.0, 1.0));
  v("attn_pdrop", attn_pdrop, in_range(0.0, 1.0));
  v("layer_norm_epsilon", layer_norm_epsilon, positive());
  v("initializer_range", initializer_range);
  v("summary_type", summary_type);
  v("summary_use_proj", summary_use_proj);
  v("summary_activation", summary_activation);
  v("summary_proj_to_labels", summary_proj_to_labels);
  v("summary_first_dropout", summary_first_dropout, in_range(0.0, 1.0));
  v("scale_attn_weights", scale_attn_weights);
  v("use_cache", use_cache);
  v("scale_attn_by_inverse_layer_idx", scale_attn_by_inverse_layer_idx);
  v("reorder_and_upcast_attn", reorder_and_upcast_attn);
}

void GPT2Config::resolve(FieldVisitor& v) {
  HfConfig::resolve(v);
}

// ------------------------------------------------------------------ bert

void BertConfig::visit_fields(FieldVisitor& v) {
  HfConfig::visit_fields(v);
  v("vocab_size", vocab_size, positive());
  v("hidden_size", hidden_size, positive());
  v("num_hidden_layers", num_hidden_layers, non_negative());
  v("num_attention_heads", num_attention_heads, positive());
  v("intermediate_size", intermediate_size, positive());
  v("hidden_act", hidden_act);
  v("hidden_dropout_prob", hidden_dropout_prob, in_range(0.0, 1.0));
  v("attention_probs_dropout_prob", attention_probs_dropout_prob, in_range(0.0, 1.0));
  v("max_position_embeddings", max_position_embeddings, positive());
  v("type_vocab_size", type_vocab_size, positive());
  v("initializer_range", initializer_range);
  v("layer_norm_eps", layer_norm_eps, positive());
  v("position_embedding_type",
    position_embedding_type,
    json_detail::one_of({"absolute", "relative_key", "relative_key_query"}));
  v("use_cache", use_cache);
  v("classifier_dropout", classifier_dropout, in_range(0.0, 1.0));
}

void BertConfig::resolve(FieldVisitor& v) {
  HfConfig::resolve(v);
}

// ------------------------------------------------------------------ t5

void T5Config::visit_fields(FieldVisitor& v) {
  HfConfig::visit_fields(v);
  v.alias("hidden_size", d_model);
  v.alias("num_attention_heads", num_heads);
  v.alias("num_hidden_layers", num_layers);
  v.alias("head_dim", d_kv);
  v("vocab_size", vocab_size, positive());
  v("d_model", d_model, positive());
  v("d_kv", d_kv, positive());
  v("d_ff", d_ff, positive());
  v("num_layers", num_layers, non_negative());
  v("num_decoder_layers", num_decoder_layers, non_negative());
  v("num_heads", num_heads, positive());
  v("relative_attention_num_buckets", relative_attention_num_buckets, positive());
  v("relative_attention_max_distance", relative_attention_max_distance, positive());
  v("dropout_rate", dropout_rate, in_range(0.0, 1.0));
  v("layer_norm_epsilon", layer_norm_epsilon, positive());
  v("initializer_factor", initializer_factor);
  v("feed_forward_proj", feed_forward_proj);
  v("use_cache", use_cache);
  v("classifier_dropout", classifier_dropout, in_range(0.0, 1.0));
  v("dense_act_fn", dense_act_fn);
  v("is_gated_act", is_gated_act);
}

void T5Config::resolve(FieldVisitor& v) {
  HfConfig::resolve(v);
  num_decoder_layers = decoder_layers();
  // "<act>" or "gated-<act>"; anything else (more dashes, another prefix) is an error.
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dash = feed_forward_proj.find('-', start);
    parts.push_back(feed_forward_proj.substr(start, dash - start));
    if (dash == std::string::npos) {
      break;
    }
    start = dash + 1;
  }
  if ((parts.size() > 1 && parts[0] != "gated") || parts.size() > 2) {
    v.fail(
        "feed_forward_proj",
        "'" + feed_forward_proj +
            "' is not of the form 'gated-{ACT_FN}' or '{ACT_FN}', e.g. "
            "'gated-gelu' or 'relu'");
  }
  dense_act_fn = parts.back();
  is_gated_act = parts[0] == "gated";
  // transformers keeps "gated-gelu" backwards compatible with the tanh approximation.
  if (feed_forward_proj == "gated-gelu") {
    dense_act_fn = "gelu_new";
  }
}

}  // namespace peftcpp
