// BERT's task heads, transformers' weight initialisation and the registry factory.
#include <string>

#include "autograd/grad_mode.h"
#include "models/bert/bert.h"
#include "nn/layers/activation.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "nn/layers/norm.h"
#include "tensor/ops.h"

namespace peftcpp::models {
namespace {

double classifier_dropout(const BertConfig& config) {
  return config.classifier_dropout.value_or(config.hidden_dropout_prob);
}

// transformers' BertPreTrainedModel._init_weights.
void init_bert_weights(nn::Module& root, const BertConfig& config) {
  NoGradGuard no_grad;
  const double std = config.initializer_range;
  for (const auto& [name, m] : root.named_modules()) {
    (void)name;
    if (auto* lin = dynamic_cast<nn::Linear*>(m.get())) {
      normal_(lin->weight, 0.0, std);
      if (lin->bias.defined())
        lin->bias.zero_();
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
}

// transformers' save_pretrained records the class in config.architectures; the model's config
// copy carries it so that a reload builds the same class.
template <typename M>
ModelPtr build(const BertConfig& base, const char* architecture) {
  BertConfig config = base;
  config.architectures = std::vector<std::string>{architecture};
  auto model = std::make_shared<M>(config);
  init_bert_weights(*model, config);
  return model;
}

}  // namespace

BertHeadModel::BertHeadModel(const BertConfig& config, bool add_pooling_layer) {
  bert = std::make_shared<BertModel>(config, add_pooling_layer);
  register_module("bert", &bert);
}

BertForSequenceClassification::BertForSequenceClassification(const BertConfig& config)
    : BertHeadModel(config, true) {
  dropout = std::make_shared<nn::Dropout>(classifier_dropout(config));
  classifier = std::make_shared<nn::Linear>(config.hidden_size, config.num_labels());
  register_module("dropout", &dropout);
  register_module("classifier", &classifier);
}

ModelOutput BertForSequenceClassification::forward(const ModelInputs& inputs) {
  ModelOutput out = bert->forward(inputs);
  out.logits = classifier->forward(dropout->forward(out.pooler_output));
  return out;
}

BertForTokenClassification::BertForTokenClassification(const BertConfig& config)
    : BertHeadModel(config, false) {
  dropout = std::make_shared<nn::Dropout>(classifier_dropout(config));
  classifier = std::make_shared<nn::Linear>(config.hidden_size, config.num_labels());
  register_module("dropout", &dropout);
  register_module("classifier", &classifier);
}

ModelOutput BertForTokenClassification::forward(const ModelInputs& inputs) {
  ModelOutput out = bert->forward(inputs);
  out.logits = classifier->forward(dropout->forward(out.last_hidden_state));
  return out;
}

BertForQuestionAnswering::BertForQuestionAnswering(const BertConfig& config)
    : BertHeadModel(config, false) {
  PEFTCPP_CHECK_T(
      ConfigError,
      config.num_labels() == 2,
      "[bert] BertForQuestionAnswering needs num_labels = 2 (start, end), got ",
      config.num_labels());
  qa_outputs = std::make_shared<nn::Linear>(config.hidden_size, config.num_labels());
  register_module("qa_outputs", &qa_outputs);
}

ModelOutput BertForQuestionAnswering::forward(const ModelInputs& inputs) {
  ModelOutput out = bert->forward(inputs);
  set_span_logits(out, qa_outputs->forward(out.last_hidden_state));
  return out;
}

ModelPtr make_bert_model(const HfConfig& hf_config, const std::string& architecture) {
  const BertConfig& config = hf_config.as<BertConfig>();
  if (architecture.empty() || architecture == "BertModel")
    return build<BertModel>(config, "BertModel");
  if (architecture == "BertForSequenceClassification")
    return build<BertForSequenceClassification>(config, "BertForSequenceClassification");
  if (architecture == "BertForTokenClassification")
    return build<BertForTokenClassification>(config, "BertForTokenClassification");
  if (architecture == "BertForQuestionAnswering")
    return build<BertForQuestionAnswering>(config, "BertForQuestionAnswering");
  throw ValueError(
      "[bert] unknown architecture '" + architecture +
      "'; supported: BertModel, BertForSequenceClassification, BertForTokenClassification, "
      "BertForQuestionAnswering");
}

}  // namespace peftcpp::models
