// BasePromptEncoder: what the encoders of prompt-learning methods share (port of
// BasePromptEncoder in peft/tuners/tuners_utils.py @5d602fd).
//
// An encoder turns virtual-token indices [B, n] into embeddings [B, n, dim]. Its table of
// virtual tokens is the child `embedding` (an nn::Embedding), which is also where a saved
// adapter's `prompt_embeddings` are loaded: with inference_mode the encoder's extra layers
// (MLP, LSTM, projection) are not built and the prompt is that table itself.
#pragma once

#include <memory>
#include <string>

#include "nn/layers/embedding.h"
#include "nn/module.h"

namespace peftcpp::prompt_learning {

class BasePromptEncoder : public nn::UnaryModule {
 public:
  /// The virtual-token table.
  const std::shared_ptr<nn::Embedding>& embedding() const {
    return embedding_;
  }
  /// indices: int64 [B, n] -> [B, n, dim].
  Tensor forward(const Tensor& indices) override = 0;
  /// PEFT's _load_adapter_state_dict: copies a saved `prompt_embeddings` tensor into the table
  /// (throws ShapeError naming both shapes when they differ).
  virtual void load_prompt_embeddings(const Tensor& prompt_embeddings);

 protected:
  /// Registers `table` as the child `embedding`.
  void set_embedding(std::shared_ptr<nn::Embedding> table);
  std::shared_ptr<nn::Embedding> embedding_;
};

}  // namespace peftcpp::prompt_learning
