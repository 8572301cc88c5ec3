// GPT-2's task heads, transformers' weight initialisation and the registry factory.
#include <cmath>
#include <string>

#include "autograd/grad_mode.h"
#include "models/gpt2/gpt2.h"
#include "nn/layers/activation.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "nn/layers/norm.h"
#include "tensor/ops.h"

namespace peftcpp::models {
namespace {

// transformers' dropout for GPT2ForTokenClassification: classifier_dropout, else
// hidden_dropout, else 0.1 (neither is a GPT2Config field, so both come from the file's keys).
double token_classifier_dropout(const GPT2Config& config) {
  for (const char* key : {"classifier_dropout", "hidden_dropout"}) {
    const Json* v = config.extra_fields().find(key);
    if (v != nullptr && v->is_number())
      return v->as_double();
  }
  return 0.1;
}

// transformers' GPT2PreTrainedModel._init_weights, then the scaled init of every c_proj weight.
void init_gpt2_weights(nn::Module& root, const GPT2Config& config) {
  NoGradGuard no_grad;
  const double std = config.initializer_range;
  for (const auto& [name, m] : root.named_modules()) {
    (void)name;
    if (auto* lin = dynamic_cast<nn::Linear*>(m.get())) {
      normal_(lin->weight, 0.0, std);
      if (lin->bias.defined())
        lin->bias.zero_();
    } else if (auto* conv = dynamic_cast<nn::Conv1D*>(m.get())) {
      // nn::Conv1D already draws N(0, 0.02) with a zero bias: redraw only for another std.
      if (std != 0.02) {
        normal_(conv->weight, 0.0, std);
        conv->bias.zero_();
      }
    } else if (auto* emb = dynamic_cast<nn::Embedding*>(m.get())) {
      normal_(emb->weight, 0.0, std);
      if (emb->padding_idx)
        emb->weight.select(0, *emb->padding_idx).zero_();
    } else if (auto* ln = dynamic_cast<nn::LayerNorm*>(m.get())) {
      if (ln->weight.defined())
        ln->weight.fill_(1.0);
      if (ln->bias.defined())
        ln->bias.zero_();
    }
  }
  const double proj_std = std / std::sqrt(2.0 * static_cast<double>(config.n_layer));
  for (auto& [name, p] : root.named_parameters()) {
    const std::string suffix = "c_proj.weight";
    if (name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      normal_(p, 0.0, proj_std);
  }
}

// transformers' save_pretrained records the class in config.architectures; the model's config
// copy carries it so that a reload builds the same class.
template <typename M>
ModelPtr build(const GPT2Config& base, const char* architecture) {
  GPT2Config config = base;
  config.architectures = std::vector<std::string>{architecture};
  auto model = std::make_shared<M>(config);
  init_gpt2_weights(*model, config);
  return model;
}

}  // namespace

GPT2HeadModel::GPT2HeadModel(const GPT2Config& config) {
  transformer = std::make_shared<GPT2Model>(config);
  register_module("transformer", &transformer);
}

GPT2LMHeadModel::GPT2LMHeadModel(const GPT2Config& config) : GPT2HeadModel(config) {
  auto head = std::make_shared<nn::Linear>(config.n_embd, config.vocab_size, false);
  if (config.tie_word_embeddings) {
    auto wte = std::dynamic_pointer_cast<nn::Embedding>(transformer->wte);
    head->weight = wte->weight;
  }
  lm_head = head;
  register_module("lm_head", &lm_head);
}

std::vector<std::pair<std::string, std::string>> GPT2LMHeadModel::tied_weights() const {
  if (!gpt2_config().tie_word_embeddings)
    return {};
  return {{"lm_head.weight", "transformer.wte.weight"}};
}

ModelOutput GPT2LMHeadModel::forward(const ModelInputs& inputs) {
  ModelOutput out = transformer->forward(inputs);
  out.logits = lm_head->forward(out.last_hidden_state);
  return out;
}

GPT2ForSequenceClassification::GPT2ForSequenceClassification(const GPT2Config& config)
    : GPT2HeadModel(config) {
  score = std::make_shared<nn::Linear>(config.n_embd, config.num_labels(), false);
  register_module("score", &score);
}

ModelOutput GPT2ForSequenceClassification::forward(const ModelInputs& inputs) {
  ModelOutput out = transformer->forward(inputs);
  const Tensor logits = score->forward(out.last_hidden_state);  // [B, T, L]
  const std::int64_t b = logits.size(0), t = logits.size(1), labels = logits.size(2);
  const TokenIds& pad = gpt2_config().pad_token_id;
  Tensor last;  // [B] index of the pooled token
  if (pad.is_none() || pad.ids().empty() || !inputs.input_ids.defined()) {
    PEFTCPP_CHECK(
        !pad.is_none() || b == 1,
        "[gpt2] GPT2ForSequenceClassification cannot handle batch size ",
        b,
        " > 1 without a pad_token_id in the config");
    last = full({b}, static_cast<double>(t - 1), kInt64, logits.device());
  } else {
    // The rightmost token that is not padding (0 when a row is all padding).
    const Tensor non_pad = ne(inputs.input_ids, static_cast<double>(pad.ids().front())).to(kInt64);
    last = argmax(mul(arange(t, kInt64, logits.device()), non_pad), -1);
  }
  const Tensor index = last.view({b, 1, 1}).expand({b, 1, labels});
  out.logits = gather(logits, 1, index).squeeze(1);
  return out;
}

GPT2ForTokenClassification::GPT2ForTokenClassification(const GPT2Config& config)
    : GPT2HeadModel(config) {
  dropout = std::make_shared<nn::Dropout>(token_classifier_dropout(config));
  classifier = std::make_shared<nn::Linear>(config.n_embd, config.num_labels());
  register_module("dropout", &dropout);
  register_module("classifier", &classifier);
}

ModelOutput GPT2ForTokenClassification::forward(const ModelInputs& inputs) {
  ModelOutput out = transformer->forward(inputs);
  out.logits = classifier->forward(dropout->forward(out.last_hidden_state));
  return out;
}

GPT2ForQuestionAnswering::GPT2ForQuestionAnswering(const GPT2Config& config)
    : GPT2HeadModel(config) {
  qa_outputs = std::make_shared<nn::Linear>(config.n_embd, 2);
  register_module("qa_outputs", &qa_outputs);
}

ModelOutput GPT2ForQuestionAnswering::forward(const ModelInputs& inputs) {
  ModelOutput out = transformer->forward(inputs);
  set_span_logits(out, qa_outputs->forward(out.last_hidden_state));
  return out;
}

ModelPtr make_gpt2_model(const HfConfig& hf_config, const std::string& architecture) {
  const GPT2Config& config = hf_config.as<GPT2Config>();
  if (architecture.empty() || architecture == "GPT2Model")
    return build<GPT2Model>(config, "GPT2Model");
  if (architecture == "GPT2LMHeadModel")
    return build<GPT2LMHeadModel>(config, "GPT2LMHeadModel");
  if (architecture == "GPT2ForSequenceClassification")
    return build<GPT2ForSequenceClassification>(config, "GPT2ForSequenceClassification");
  if (architecture == "GPT2ForTokenClassification")
    return build<GPT2ForTokenClassification>(config, "GPT2ForTokenClassification");
  if (architecture == "GPT2ForQuestionAnswering")
    return build<GPT2ForQuestionAnswering>(config, "GPT2ForQuestionAnswering");
  throw ValueError(
      "[gpt2] unknown architecture '" + architecture +
      "'; supported: GPT2Model, GPT2LMHeadModel, GPT2ForSequenceClassification, "
      "GPT2ForTokenClassification, GPT2ForQuestionAnswering");
}

}  // namespace peftcpp::models
