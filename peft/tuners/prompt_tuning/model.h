// Prompt tuning: PromptEmbedding, the encoder of virtual tokens (port of
// peft/tuners/prompt_tuning/model.py @5d602fd). Paper: Lester et al. 2021, "The Power of Scale
// for Parameter-Efficient Prompt Tuning", arXiv:2104.08691.
//
// A table of num_virtual_tokens * num_transformer_submodules trainable embeddings of width
// token_dim (`embedding.weight`). PeftModel puts them in front of the input's token embeddings
// (peft/tuners/prompt_learning/forward.cpp); the adapter file stores the table as
// `prompt_embeddings`. Initialisation (prompt_tuning_init, unless inference_mode):
//   RANDOM        N(0, 1), as torch.nn.Embedding;
//   SAMPLE_VOCAB  rows of the model's word embeddings at ids drawn uniformly from the vocabulary;
//   TEXT          word embeddings of the tokenized prompt_tuning_init_text (with the tokenizer's
//                 special tokens), cut to the table's length or repeated to fill it.
#pragma once

#include <memory>

#include "peft/tuners/base_tuner.h"
#include "peft/tuners/prompt_learning/encoder.h"
#include "peft/tuners/prompt_tuning/config.h"

namespace peftcpp::prompt_tuning {

class PromptEmbedding : public prompt_learning::BasePromptEncoder {
 public:
  /// `word_embeddings`: the base model's token embedding (SAMPLE_VOCAB / TEXT init read it).
  PromptEmbedding(const PromptTuningConfig& config, nn::UnaryModule& word_embeddings);
  std::string type_name() const override {
    return "PromptEmbedding";
  }
  Tensor forward(const Tensor& indices) override;
};

/// The token ids TEXT init embeds: `ids` cut to `total` or repeated until it has `total` entries
/// (PEFT's trimming; throws ValueError when `ids` is empty).
std::vector<std::int64_t> fit_init_token_ids(std::vector<std::int64_t> ids, std::int64_t total);

/// Factory for the tuner registry.
std::shared_ptr<BaseTuner> make_prompt_tuning_model(nn::ModulePtr model);

}  // namespace peftcpp::prompt_tuning
