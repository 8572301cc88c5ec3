#include "models/llama/llama_model.h"

#include <map>

#include "autograd/grad_mode.h"
#include "models/llama/attention_mask.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "nn/layers/norm.h"
#include "tensor/ops.h"
#include "tensor/ops/random.h"

namespace peftcpp::models::llama {

LlamaModel::LlamaModel(const HfConfig& config, const LlamaSettings& s, const nn::FactoryOptions& fo)
    : config_(config.clone()), settings_(s) {
  embed_tokens = std::make_shared<nn::Embedding>(s.vocab_size, s.hidden_size, s.pad_token_id, fo);
  layers = std::make_shared<nn::ModuleList>();
  for (std::int64_t i = 0; i < s.num_layers; ++i)
    layers->push_back(std::make_shared<LlamaDecoderLayer>(s, i, fo));
  norm = std::make_shared<nn::RMSNorm>(s.hidden_size, s.rms_norm_eps, fo);
  rotary_emb = std::make_shared<LlamaRotaryEmbedding>(s);
  register_module("embed_tokens", &embed_tokens);
  register_module("layers", &layers);
  register_module("norm", &norm);
  register_module("rotary_emb", &rotary_emb);
}

void LlamaModel::replicate_layers(const std::vector<std::pair<int, int>>& layer_map) {
  const auto n = static_cast<int>(layers->size());
  std::int64_t total = 0;
  for (const auto& [start, end] : layer_map) {
    PEFTCPP_CHECK(0 <= start && start < end && end <= n, "[models/llama] layer_replication range [",
                  start, ", ", end, ") is not inside the model's ", n, " layers");
    total += end - start;
  }
  // Per-layer settings (sliding windows) follow the new layer indices, as transformers derives
  // them from layer_idx and the updated config.
  Json j = config_->to_json();
  j["num_hidden_layers"] = total;
  std::unique_ptr<HfConfig> new_config = hf_config_from_json(j, config_->source());
  const LlamaSettings s = llama_settings(*new_config);
  auto fresh = std::make_shared<nn::ModuleList>();
  {
    NoInitGuard no_init;  // every weight is replaced by the source layer's tensor below
    for (const auto& [start, end] : layer_map) {
      for (int i = start; i < end; ++i) {
        const nn::ModulePtr src = layers->at(i);
        auto layer = std::make_shared<LlamaDecoderLayer>(s, static_cast<std::int64_t>(fresh->size()),
                                                         nn::FactoryOptions{});
        for (const auto& [name, p] : src->named_parameters()) layer->get_parameter(name) = p;
        for (const auto& [name, b] : src->named_buffers()) layer->get_buffer(name) = b;
        fresh->push_back(layer);
      }
    }
  }
  replace_child("layers", fresh);
  settings_ = s;
  config_ = std::move(new_config);
}

ModelOutput LlamaModel::forward(const ModelInputs& in) {
  const std::string who = "[models/llama] " + type_name() + ": ";
  if (in.input_ids.defined() == in.inputs_embeds.defined())
    throw ValueError(who + "pass exactly one of input_ids and inputs_embeds");
  Tensor hidden;
  if (in.input_ids.defined()) {
    PEFTCPP_CHECK_SHAPE(
        in.input_ids.dim() == 2,
        who,
        "input_ids must be [batch, seq], got ",
        shape_str(in.input_ids.shape()));
    hidden = embed_tokens->forward(in.input_ids);
  } else {
    PEFTCPP_CHECK_SHAPE(
        in.inputs_embeds.dim() == 3 && in.inputs_embeds.size(2) == settings_.hidden_size,
        who,
        "inputs_embeds must be [batch, seq, ",
        settings_.hidden_size,
        "], got ",
        shape_str(in.inputs_embeds.shape()));
    hidden = in.inputs_embeds;
  }
  const std::int64_t b = hidden.size(0), t = hidden.size(1);
  KVCache* cache = in.past_key_values;
  const std::int64_t past = cache != nullptr ? cache->seq_length() : 0;
  const auto num_layers = static_cast<std::size_t>(settings_.num_layers);
  if (cache != nullptr && in.use_cache && cache->self.size() < num_layers)
    cache->self.resize(num_layers);

  Tensor position_ids = in.position_ids;
  if (!position_ids.defined()) {
    position_ids =
        arange(
            static_cast<double>(past), static_cast<double>(past + t), 1.0, kInt64, hidden.device())
            .unsqueeze(0);
  }
  PEFTCPP_CHECK_SHAPE(
      position_ids.dim() == 2 && position_ids.size(1) == t,
      who,
      "position_ids must be [batch, ",
      t,
      "], got ",
      shape_str(position_ids.shape()));
  const auto [cos, sin] = rotary_emb->forward(position_ids, hidden.dtype());

  // One additive mask per distinct sliding window (most models: one).
  std::map<std::int64_t, Tensor> biases;  // window (-1 = none) -> bias
  auto bias_for = [&](std::optional<std::int64_t> window) -> const Tensor& {
    const std::int64_t key = window.value_or(-1);
    auto it = biases.find(key);
    if (it == biases.end()) {
      NoGradGuard no_grad;
      it =
          biases
              .emplace(
                  key, causal_attention_bias(in.attention_mask, b, t, past, window, hidden.dtype()))
              .first;
    }
    return it->second;
  };

  ModelOutput out;
  for (std::size_t i = 0; i < num_layers; ++i) {
    if (in.output_hidden_states)
      out.hidden_states.push_back(hidden);
    LayerKV* kv = cache != nullptr && i < cache->self.size() ? &cache->self[i] : nullptr;
    auto layer = layers->at_as<LlamaDecoderLayer>(static_cast<std::int64_t>(i));
    PEFTCPP_CHECK(layer != nullptr, who, "layers.", i, " is not a decoder layer");
    hidden =
        layer->forward(hidden, cos, sin, bias_for(settings_.sliding_window[i]), kv, in.use_cache);
  }
  hidden = norm->forward(hidden);
  if (in.output_hidden_states)
    out.hidden_states.push_back(hidden);
  out.last_hidden_state = hidden;
  return out;
}

void init_llama_weights(nn::Module& root, double std, Generator* gen) {
  NoGradGuard no_grad;
  // Linears first, embeddings second: a tied lm_head ends with the embedding's values (padding
  // row zero), as transformers ties after initialising.
  const nn::NamedModules modules = root.named_modules();
  for (const auto& [name, module] : modules) {
    if (auto* lin = dynamic_cast<nn::Linear*>(module.get())) {
      Tensor w = lin->weight.detach();
      normal_(w, 0.0, std, gen);
      if (lin->bias.defined())
        lin->bias.detach().zero_();
    }
  }
  for (const auto& [name, module] : modules) {
    if (auto* emb = dynamic_cast<nn::Embedding*>(module.get())) {
      Tensor w = emb->weight.detach();
      normal_(w, 0.0, std, gen);
      if (emb->padding_idx)
        w.select(0, *emb->padding_idx).zero_();
    }
  }
}

}  // namespace peftcpp::models::llama
