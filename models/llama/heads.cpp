#include "models/llama/heads.h"

#include "models/llama/fast_linear.h"
#include "nn/layers/activation.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "tensor/ops.h"

namespace peftcpp::models::llama {

LlamaHeadModel::LlamaHeadModel(
    const HfConfig& config,
    const LlamaSettings& s,
    const std::string& base_name,
    const nn::FactoryOptions& fo)
    : base_name_(base_name), config_(config.clone()) {
  base = std::make_shared<LlamaModel>(config, s, fo);
  register_module(base_name, &base);
}

// ---- causal LM ---------------------------------------------------------------------------

LlamaForCausalLM::LlamaForCausalLM(
    const HfConfig& config, const LlamaSettings& s, const nn::FactoryOptions& fo)
    : LlamaHeadModel(config, s, "model", fo) {
  auto head = std::make_shared<nn::Linear>(s.hidden_size, s.vocab_size, false, fo);
  if (s.tie_word_embeddings) {
    auto emb = std::dynamic_pointer_cast<nn::Embedding>(base->embed_tokens);
    if (emb)
      head->weight = emb->weight;  // one tensor under both names
  }
  lm_head = head;
  register_module("lm_head", &lm_head);
}

std::vector<std::pair<std::string, std::string>> LlamaForCausalLM::tied_weights() const {
  if (!settings().tie_word_embeddings)
    return {};
  return {{"lm_head.weight", base_name_ + ".embed_tokens.weight"}};
}

ModelOutput LlamaForCausalLM::forward(const ModelInputs& inputs) {
  ModelOutput out = base->forward(inputs);
  Tensor h = out.last_hidden_state;
  const std::int64_t keep = inputs.num_logits_to_keep;
  if (keep > 0 && keep < h.size(1))
    h = h.narrow(1, h.size(1) - keep, keep);
  out.logits = apply_linear(lm_head, h);
  return out;
}

// ---- sequence classification -------------------------------------------------------------

LlamaForSequenceClassification::LlamaForSequenceClassification(
    const HfConfig& config, const LlamaSettings& s, const nn::FactoryOptions& fo)
    : LlamaHeadModel(config, s, "model", fo) {
  score = std::make_shared<nn::Linear>(s.hidden_size, s.num_labels, false, fo);
  register_module("score", &score);
}

ModelOutput LlamaForSequenceClassification::forward(const ModelInputs& inputs) {
  ModelOutput out = base->forward(inputs);
  const Tensor logits = score->forward(out.last_hidden_state);  // [B, T, L]
  const std::int64_t b = logits.size(0), t = logits.size(1);
  const std::optional<std::int64_t> pad = settings().pad_token_id;
  if (!pad && b != 1) {
    throw ValueError(
        "[models/llama] " + type_name() +
        ": cannot handle batch sizes > 1 if no padding token is defined");
  }
  // transformers 4.48: the position before the first pad token, modulo T (no pad -> last).
  std::vector<std::int64_t> rows(static_cast<std::size_t>(b), t - 1);
  if (pad && inputs.input_ids.defined()) {
    const Tensor ids = inputs.input_ids.to(kInt64).contiguous();
    const std::int64_t* p = ids.data_ptr<std::int64_t>();
    for (std::int64_t i = 0; i < b; ++i) {
      std::int64_t first = 0;  // argmax of eq(): 0 when there is no pad token
      for (std::int64_t j = 0; j < t; ++j) {
        if (p[i * t + j] == *pad) {
          first = j;
          break;
        }
      }
      rows[static_cast<std::size_t>(i)] = ((first - 1) % t + t) % t + i * t;
    }
  } else {
    for (std::int64_t i = 0; i < b; ++i) rows[static_cast<std::size_t>(i)] += i * t;
  }
  const Tensor index = tensor<std::int64_t>(rows, {b}, logits.device());
  out.logits = index_select(logits.reshape({b * t, logits.size(2)}), 0, index);
  return out;
}

// ---- token classification ----------------------------------------------------------------

LlamaForTokenClassification::LlamaForTokenClassification(
    const HfConfig& config, const LlamaSettings& s, const nn::FactoryOptions& fo)
    : LlamaHeadModel(config, s, "model", fo) {
  dropout = std::make_shared<nn::Dropout>(s.classifier_dropout, fo.generator);
  score = std::make_shared<nn::Linear>(s.hidden_size, s.num_labels, true, fo);
  register_module("dropout", &dropout);
  register_module("score", &score);
}

ModelOutput LlamaForTokenClassification::forward(const ModelInputs& inputs) {
  ModelOutput out = base->forward(inputs);
  out.logits = score->forward(dropout->forward(out.last_hidden_state));
  return out;
}

// ---- question answering ------------------------------------------------------------------

LlamaForQuestionAnswering::LlamaForQuestionAnswering(
    const HfConfig& config, const LlamaSettings& s, const nn::FactoryOptions& fo)
    : LlamaHeadModel(config, s, s.qa_base_name, fo) {
  qa_outputs = std::make_shared<nn::Linear>(s.hidden_size, 2, true, fo);
  register_module("qa_outputs", &qa_outputs);
}

ModelOutput LlamaForQuestionAnswering::forward(const ModelInputs& inputs) {
  ModelOutput out = base->forward(inputs);
  set_span_logits(out, qa_outputs->forward(out.last_hidden_state));
  return out;
}

// ---- factory -----------------------------------------------------------------------------

ModelPtr make_llama_family(const HfConfig& config, const std::string& architecture) {
  const LlamaSettings s = llama_settings(config);
  const std::string& p = s.prefix;
  ModelPtr model;
  if (architecture.empty() || architecture == p + "Model") {
    model = std::make_shared<LlamaModel>(config, s);
  } else if (architecture == p + "ForCausalLM") {
    model = std::make_shared<LlamaForCausalLM>(config, s);
  } else if (architecture == p + "ForSequenceClassification") {
    model = std::make_shared<LlamaForSequenceClassification>(config, s);
  } else if (architecture == p + "ForTokenClassification") {
    model = std::make_shared<LlamaForTokenClassification>(config, s);
  } else if (architecture == p + "ForQuestionAnswering") {
    model = std::make_shared<LlamaForQuestionAnswering>(config, s);
  } else {
    throw ValueError(
        "[models/llama] unknown architecture '" + architecture + "' for model_type " +
        config.model_type() + " (known: " + p + "Model, " + p + "ForCausalLM, " + p +
        "ForSequenceClassification, " + p + "ForTokenClassification, " + p +
        "ForQuestionAnswering)");
  }
  init_llama_weights(*model, s.initializer_range);
  return model;
}

}  // namespace peftcpp::models::llama
