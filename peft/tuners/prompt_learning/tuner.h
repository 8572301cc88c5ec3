// PromptLearningTuner: the prompt-learning side of PeftModel (port of the prompt-learning parts of
// peft/peft_model.py @5d602fd: _setup_prompt_encoder, get_prompt, get_prompt_embedding_to_save,
// the PeftModelFor* forwards; and of _prepare_prompt_learning_config in peft/utils/other.py and
// BasePromptEncoder's state-dict hooks in peft/tuners/tuners_utils.py).
//
// Prompt learning does not change the base model's layers: PeftModel holds the base model itself
// as `base_model` (parameter names `base_model.<hf name>`) and the encoders of the adapters as
// `prompt_encoder.<adapter>` (see peft_model_children). The base model is frozen; the encoders
// and modules_to_save copies (e.g. a classification head) are trained. Only one adapter is
// active at a time (its encoder makes the prompt).
//
// The active adapter's virtual tokens enter the forward (forward.cpp) as
//   prompt tuning / P-tuning: embeddings in front of the input's token embeddings (the
//     attention mask gets num_virtual_tokens ones in front, token_type_ids zeros);
//   prefix tuning: past keys/values of every layer (models::KVCache, [B, kv_heads,
//     num_virtual_tokens, head_dim]; the attention mask gets ones in front).
// The adapter file holds one tensor, `prompt_embeddings` (the encoder's output for every virtual
// token, or its table in inference mode), plus modules_to_save copies.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "models/model.h"
#include "nn/containers.h"
#include "peft/tuners/base_tuner.h"
#include "peft/tuners/prompt_learning/encoder.h"

namespace peftcpp::prompt_learning {

/// Builds the encoder of one adapter from its prepared config and the base model's word
/// embeddings (prompt tuning's SAMPLE_VOCAB / TEXT init reads them).
using EncoderFactory = std::function<std::shared_ptr<BasePromptEncoder>(
    const PromptLearningConfig& config, nn::UnaryModule& word_embeddings)>;

/// PEFT's _prepare_prompt_learning_config: fills num_layers, token_dim, num_attention_heads from
/// the model config where unset; for prefix tuning on grouped-query attention models token_dim
/// and num_attention_heads become head_dim * kv_heads and kv_heads; encoder_hidden_size (where
/// the config has it) defaults to token_dim.
void prepare_prompt_learning_config(PromptLearningConfig& config, const HfConfig& model_config);

/// Causal-LM labels [B, T] for a prompt-tuned / P-tuned forward, whose logits include the
/// virtual positions: -100 (ignored by cross_entropy) for the num_virtual_tokens in front, as
/// PEFT extends `labels`.
Tensor prompt_learning_labels(const Tensor& labels, std::int64_t num_virtual_tokens);

class PromptLearningTuner : public BaseTuner {
 public:
  PromptLearningTuner(nn::ModulePtr model, PeftType type, std::string prefix, EncoderFactory make);
  std::string type_name() const override {
    return "PromptLearningModel";
  }

  // ---- BaseTuner ---------------------------------------------------------------------------
  std::string prefix() const override {
    return prefix_;
  }
  bool is_tuner_layer(const nn::Module& /*m*/) const override {
    return false;
  }
  /// Only modules_to_save: prompt learning targets no module.
  TargetFields target_fields(PeftConfig& config) const override;
  /// PEFT's add_adapter for prompt learning: prepares the config, freezes the base model,
  /// builds the adapter's encoder and wraps modules_to_save. Undone when it throws.
  void inject_adapter(const std::string& adapter) override;
  /// Never called (inject_adapter replaces no module); throws.
  void create_and_replace(
      PeftConfig& config,
      const std::string& adapter,
      const nn::ModulePtr& target,
      const std::string& current_key,
      const std::optional<std::string>& parameter_name) override;
  /// Removes the adapter's encoder and modules_to_save copies; the first remaining adapter
  /// becomes active when it was the active one.
  void delete_adapter(const std::string& adapter) override;
  /// Throws: prompt learning has no weights to merge.
  void check_merge_allowed() const override;
  nn::NamedModules peft_model_children() override;
  /// {"prompt_embeddings": the prompt} (the encoder's output for all virtual tokens; the table
  /// itself in inference mode).
  nn::StateDict adapter_state_dict(
      nn::Module& root,
      const PeftConfig& config,
      const std::string& adapter,
      const nn::StateDict& state) const override;
  /// `prompt_embeddings` -> `prompt_encoder.<adapter>.embedding.weight` (throws ValueError when
  /// the checkpoint has none).
  nn::StateDict remap_adapter_state_dict_for_load(
      nn::Module& root,
      const PeftConfig& config,
      const std::string& adapter,
      const nn::StateDict& state) const override;

  // ---- prompt learning ---------------------------------------------------------------------
  PeftType peft_type() const {
    return type_;
  }
  /// Prefix tuning: the virtual tokens become past keys/values.
  bool uses_past_key_values() const {
    return type_ == PeftType::PREFIX_TUNING;
  }
  const std::shared_ptr<nn::ModuleDict>& prompt_encoder() const {
    return prompt_encoder_;
  }
  BasePromptEncoder& encoder(const std::string& adapter) const;
  PromptLearningConfig& prompt_config(const std::string& adapter) const;
  /// The single active adapter (throws when several are active).
  const std::string& active_adapter() const;
  /// The base model (a transformers model).
  models::PreTrainedModel& pretrained() const;
  /// The base model's token embedding (PEFT's word_embeddings).
  nn::UnaryModule& word_embeddings() const;
  /// The dtype of the base model's first floating-point parameter (PEFT's base_model_torch_dtype).
  DType model_dtype() const;

  /// Prompt tuning / P-tuning (PEFT's get_prompt): [B, num_virtual_tokens *
  /// num_transformer_submodules, token_dim] of the active adapter.
  Tensor get_prompt(std::int64_t batch_size) const;
  /// Prefix tuning (PEFT's get_prompt): the past keys/values of every layer, [B,
  /// num_attention_heads, num_virtual_tokens, token_dim / num_attention_heads], in the base
  /// model's dtype. With num_transformer_submodules 2 (encoder-decoder) PEFT's layout: the
  /// prefix is concatenated with itself and cut in groups of four, so decoder layer l gets the
  /// prefix of layer 2l mod num_layers, and the cross-attention cache starts empty.
  models::KVCache get_prefix_cache(std::int64_t batch_size) const;
  /// What the adapter file stores as `prompt_embeddings` (the encoder's output, detached).
  Tensor get_prompt_embedding_to_save(const std::string& adapter) const;

  /// PeftModel's forward for a PeftModelFor<task> (nullopt = plain PeftModel: the base model
  /// runs unchanged, as PEFT).
  models::ModelOutput forward(
      const models::ModelInputs& inputs, const std::optional<TaskType>& task) const;

 private:
  PeftType type_;
  std::string prefix_;
  EncoderFactory make_;
  std::shared_ptr<nn::ModuleDict> prompt_encoder_;
  std::map<std::string, Tensor> prompt_tokens_;
};

}  // namespace peftcpp::prompt_learning
