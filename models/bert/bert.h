// BERT (transformers' modeling_bert, eager attention, encoder only): BertModel and its sequence
// classification, token classification and question answering heads.
//
// Parameter and module names are transformers' (`bert.encoder.layer.0.attention.self.query.weight`;
// a bare BertModel's start with `embeddings.`, `encoder.`, `pooler.`). Every Linear / Embedding /
// LayerNorm is held through a UnaryModule member so PEFT can swap it. position_embedding_type
// "absolute", "relative_key" and "relative_key_query" are supported. Prefix tuning's keys/values
// (ModelInputs::past_key_values) are put in front of each layer's keys, and the absolute
// positions start after them, as transformers does; the encoder never appends to the cache.
//
// Shape legend: B batch, T tokens, P prefix positions, S = P + T, C hidden, H heads, D = C / H.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/model.h"
#include "nn/containers.h"

namespace peftcpp::models {

/// word + token_type (+ absolute position) embeddings -> LayerNorm -> dropout.
class BertEmbeddings : public nn::Module {
 public:
  explicit BertEmbeddings(const BertConfig& config);
  std::string type_name() const override {
    return "BertEmbeddings";
  }
  /// One of input_ids / inputs_embeds; undefined token_type_ids = zeros, undefined position_ids
  /// = past .. past + T - 1.
  Tensor forward(
      const Tensor& input_ids,
      const Tensor& token_type_ids,
      const Tensor& position_ids,
      const Tensor& inputs_embeds,
      std::int64_t past);

  std::shared_ptr<nn::UnaryModule> word_embeddings;
  std::shared_ptr<nn::UnaryModule> position_embeddings;
  std::shared_ptr<nn::UnaryModule> token_type_embeddings;
  std::shared_ptr<nn::UnaryModule> layer_norm;  // registered as "LayerNorm"
  std::shared_ptr<nn::UnaryModule> dropout;
  /// Non-persistent buffers, as transformers: [1, max_position_embeddings] int64.
  Tensor position_ids;
  Tensor token_type_ids;

 private:
  bool absolute_;
};

/// query / key / value projections and scaled dot-product attention over all heads at once.
class BertSelfAttention : public nn::Module {
 public:
  explicit BertSelfAttention(const BertConfig& config);
  std::string type_name() const override {
    return "BertSelfAttention";
  }
  /// x [B, T, C], mask additive [B or 1, 1, 1, S] (or undefined), past keys/values [B, H, P, D]
  /// (or null) -> context [B, T, C].
  Tensor forward(const Tensor& x, const Tensor& mask, const LayerKV* past);

  std::shared_ptr<nn::UnaryModule> query;
  std::shared_ptr<nn::UnaryModule> key;
  std::shared_ptr<nn::UnaryModule> value;
  std::shared_ptr<nn::UnaryModule> dropout;
  /// relative_key / relative_key_query only: [2 * max_position_embeddings - 1, D].
  std::shared_ptr<nn::UnaryModule> distance_embedding;

 private:
  Tensor relative_scores(const Tensor& q, const Tensor& k, bool has_past);

  std::int64_t num_heads_, head_dim_, max_positions_;
  std::string position_embedding_type_;
  double attn_pdrop_;
};

/// dense -> dropout -> LayerNorm(. + residual): BertSelfOutput and BertOutput.
class BertResidualOutput : public nn::Module {
 public:
  BertResidualOutput(const BertConfig& config, std::int64_t in_features, std::string type);
  std::string type_name() const override {
    return type_;
  }
  Tensor forward(const Tensor& x, const Tensor& residual);

  std::shared_ptr<nn::UnaryModule> dense;
  std::shared_ptr<nn::UnaryModule> layer_norm;  // registered as "LayerNorm"
  std::shared_ptr<nn::UnaryModule> dropout;

 private:
  std::string type_;
};

/// `self` (BertSelfAttention) then `output` (BertSelfOutput).
class BertAttention : public nn::Module {
 public:
  explicit BertAttention(const BertConfig& config);
  std::string type_name() const override {
    return "BertAttention";
  }
  Tensor forward(const Tensor& x, const Tensor& mask, const LayerKV* past);

  std::shared_ptr<BertSelfAttention> self_attn;  // registered as "self"
  std::shared_ptr<BertResidualOutput> output;
};

/// dense -> hidden_act.
class BertIntermediate : public nn::UnaryModule {
 public:
  explicit BertIntermediate(const BertConfig& config);
  std::string type_name() const override {
    return "BertIntermediate";
  }
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<nn::UnaryModule> dense;
  std::shared_ptr<nn::UnaryModule> intermediate_act_fn;
};

class BertLayer : public nn::Module {
 public:
  explicit BertLayer(const BertConfig& config);
  std::string type_name() const override {
    return "BertLayer";
  }
  Tensor forward(const Tensor& x, const Tensor& mask, const LayerKV* past);

  std::shared_ptr<BertAttention> attention;
  std::shared_ptr<BertIntermediate> intermediate;
  std::shared_ptr<BertResidualOutput> output;
};

/// tanh(dense(hidden[:, 0])).
class BertPooler : public nn::UnaryModule {
 public:
  explicit BertPooler(const BertConfig& config);
  std::string type_name() const override {
    return "BertPooler";
  }
  Tensor forward(const Tensor& hidden) override;

  std::shared_ptr<nn::UnaryModule> dense;
  std::shared_ptr<nn::UnaryModule> activation;
};

/// `layer` (ModuleList of BertLayer).
class BertEncoder : public nn::Module {
 public:
  explicit BertEncoder(const BertConfig& config);
  std::string type_name() const override {
    return "BertEncoder";
  }
  std::shared_ptr<nn::ModuleList> layer;
};

/// embeddings -> encoder -> pooler (when add_pooling_layer). Output: last_hidden_state,
/// pooler_output, hidden_states (num_hidden_layers + 1, index 0 = embedding output).
class BertModel : public PreTrainedModel {
 public:
  explicit BertModel(const BertConfig& config, bool add_pooling_layer = true);
  std::string type_name() const override {
    return "BertModel";
  }
  ModelOutput forward(const ModelInputs& inputs) override;
  const HfConfig& config() const override {
    return config_;
  }
  nn::ModulePtr input_embeddings() override {
    return embeddings->word_embeddings;
  }
  std::string layers_path() const override {
    return "encoder.layer";
  }
  const BertConfig& bert_config() const {
    return config_;
  }

  std::shared_ptr<BertEmbeddings> embeddings;
  std::shared_ptr<BertEncoder> encoder;
  std::shared_ptr<nn::UnaryModule> pooler;  // null without the pooling layer

 private:
  BertConfig config_;
};

/// Shared part of the task models: `bert` plus dropout (classifier_dropout, else
/// hidden_dropout_prob).
class BertHeadModel : public PreTrainedModel {
 public:
  const HfConfig& config() const override {
    return bert->config();
  }
  nn::ModulePtr input_embeddings() override {
    return bert->input_embeddings();
  }
  std::string layers_path() const override {
    return "bert.encoder.layer";
  }

  std::shared_ptr<BertModel> bert;

 protected:
  BertHeadModel(const BertConfig& config, bool add_pooling_layer);
};

/// dropout(pooler_output) -> classifier: logits [B, num_labels].
class BertForSequenceClassification : public BertHeadModel {
 public:
  explicit BertForSequenceClassification(const BertConfig& config);
  std::string type_name() const override {
    return "BertForSequenceClassification";
  }
  ModelOutput forward(const ModelInputs& inputs) override;
  std::vector<std::string> output_module_names() const override {
    return {"classifier"};
  }

  std::shared_ptr<nn::UnaryModule> dropout;
  std::shared_ptr<nn::UnaryModule> classifier;
};

/// No pooler; dropout(last_hidden_state) -> classifier: logits [B, T, num_labels].
class BertForTokenClassification : public BertHeadModel {
 public:
  explicit BertForTokenClassification(const BertConfig& config);
  std::string type_name() const override {
    return "BertForTokenClassification";
  }
  ModelOutput forward(const ModelInputs& inputs) override;
  std::vector<std::string> output_module_names() const override {
    return {"classifier"};
  }

  std::shared_ptr<nn::UnaryModule> dropout;
  std::shared_ptr<nn::UnaryModule> classifier;
};

/// No pooler; qa_outputs (C -> num_labels, which must be 2): start_logits / end_logits [B, T].
class BertForQuestionAnswering : public BertHeadModel {
 public:
  explicit BertForQuestionAnswering(const BertConfig& config);
  std::string type_name() const override {
    return "BertForQuestionAnswering";
  }
  ModelOutput forward(const ModelInputs& inputs) override;
  std::vector<std::string> output_module_names() const override {
    return {"qa_outputs"};
  }

  std::shared_ptr<nn::UnaryModule> qa_outputs;
};

/// The registry's factory: "BertModel" (or ""), "BertForSequenceClassification",
/// "BertForTokenClassification", "BertForQuestionAnswering", initialised as transformers'
/// _init_weights (N(0, initializer_range), zero biases and padding row, unit LayerNorms) from
/// the default generator. `config` must be a BertConfig; decoder configs (is_decoder,
/// add_cross_attention) are rejected.
ModelPtr make_bert_model(const HfConfig& config, const std::string& architecture);

}  // namespace peftcpp::models
