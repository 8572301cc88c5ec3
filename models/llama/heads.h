// Task heads of the LLaMA family, with transformers' module names:
//   <Prefix>ForCausalLM                `model` + `lm_head` (tied to embed_tokens when configured)
//   <Prefix>ForSequenceClassification  `model` + `score` (no bias), pooled at the token before the
//                                      first pad token (the last token without pad_token_id)
//   <Prefix>ForTokenClassification     `model` + `dropout` + `score` (with bias)
//   <Prefix>ForQuestionAnswering       `transformer` (mistral: `model`) + `qa_outputs`
// plus the bare <Prefix>Model, all built by make_llama_family.
#pragma once

#include <memory>
#include <string>

#include "models/llama/llama_model.h"

namespace peftcpp::models::llama {

/// Shared plumbing of the heads: the config, the base model and its attribute name.
class LlamaHeadModel : public PreTrainedModel {
 public:
  LlamaHeadModel(
      const HfConfig& config,
      const LlamaSettings& s,
      const std::string& base_name,
      const nn::FactoryOptions& fo);
  const HfConfig& config() const override {
    return *config_;
  }
  nn::ModulePtr input_embeddings() override {
    return base->embed_tokens;
  }
  std::string layers_path() const override {
    return base_name_ + ".layers";
  }
  void replicate_layers(const std::vector<std::pair<int, int>>& layer_map) override {
    base->replicate_layers(layer_map);
    config_ = base->config().clone();
  }

  std::shared_ptr<LlamaModel> base;

 protected:
  const LlamaSettings& settings() const {
    return base->settings();
  }
  std::string base_name_;

 private:
  std::unique_ptr<HfConfig> config_;
};

class LlamaForCausalLM : public LlamaHeadModel {
 public:
  LlamaForCausalLM(
      const HfConfig& config, const LlamaSettings& s, const nn::FactoryOptions& fo = {});
  std::string type_name() const override {
    return settings().prefix + "ForCausalLM";
  }
  /// logits [B, T, vocab] (the last num_logits_to_keep positions when that is set).
  ModelOutput forward(const ModelInputs& inputs) override;
  nn::ModulePtr output_embeddings() override {
    return lm_head;
  }
  std::vector<std::string> output_module_names() const override {
    return {"lm_head"};
  }
  std::vector<std::pair<std::string, std::string>> tied_weights() const override;

  std::shared_ptr<nn::UnaryModule> lm_head;
};

class LlamaForSequenceClassification : public LlamaHeadModel {
 public:
  LlamaForSequenceClassification(
      const HfConfig& config, const LlamaSettings& s, const nn::FactoryOptions& fo = {});
  std::string type_name() const override {
    return settings().prefix + "ForSequenceClassification";
  }
  /// logits [B, num_labels].
  ModelOutput forward(const ModelInputs& inputs) override;
  std::vector<std::string> output_module_names() const override {
    return {"score"};
  }

  std::shared_ptr<nn::UnaryModule> score;
};

class LlamaForTokenClassification : public LlamaHeadModel {
 public:
  LlamaForTokenClassification(
      const HfConfig& config, const LlamaSettings& s, const nn::FactoryOptions& fo = {});
  std::string type_name() const override {
    return settings().prefix + "ForTokenClassification";
  }
  /// logits [B, T, num_labels].
  ModelOutput forward(const ModelInputs& inputs) override;
  std::vector<std::string> output_module_names() const override {
    return {"score"};
  }

  std::shared_ptr<nn::UnaryModule> dropout, score;
};

class LlamaForQuestionAnswering : public LlamaHeadModel {
 public:
  LlamaForQuestionAnswering(
      const HfConfig& config, const LlamaSettings& s, const nn::FactoryOptions& fo = {});
  std::string type_name() const override {
    return settings().prefix + "ForQuestionAnswering";
  }
  /// start_logits, end_logits [B, T].
  ModelOutput forward(const ModelInputs& inputs) override;
  std::vector<std::string> output_module_names() const override {
    return {"qa_outputs"};
  }

  std::shared_ptr<nn::UnaryModule> qa_outputs;
};

/// The registry's factory for model_type llama, mistral and qwen2: `architecture` is e.g.
/// "LlamaForCausalLM", "MistralModel", "Qwen2ForSequenceClassification" (empty = the bare model);
/// weights initialised as transformers' _init_weights (default generator).
ModelPtr make_llama_family(const HfConfig& config, const std::string& architecture);

}  // namespace peftcpp::models::llama
