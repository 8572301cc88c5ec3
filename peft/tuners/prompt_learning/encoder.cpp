// BasePromptEncoder (port of BasePromptEncoder in peft/tuners/tuners_utils.py @5d602fd).
#include "peft/tuners/prompt_learning/encoder.h"

#include "autograd/grad_mode.h"
#include "tensor/error.h"

namespace peftcpp::prompt_learning {

void BasePromptEncoder::set_embedding(std::shared_ptr<nn::Embedding> table) {
  PEFTCPP_CHECK(table != nullptr, "[peft] prompt encoder: null embedding table");
  if (embedding_ == nullptr) {
    embedding_ = std::move(table);
    register_module("embedding", &embedding_);
  } else {
    replace_child("embedding", std::move(table));
  }
}

void BasePromptEncoder::load_prompt_embeddings(const Tensor& prompt_embeddings) {
  PEFTCPP_CHECK(embedding_ != nullptr, "[peft] prompt encoder has no embedding table");
  Tensor& w = embedding_->weight;
  PEFTCPP_CHECK_SHAPE(
      prompt_embeddings.defined() && prompt_embeddings.shape() == w.shape(),
      "[peft] invalid `prompt_embeddings` shape: expected ",
      shape_str(w.shape()),
      ", got ",
      prompt_embeddings.defined() ? shape_str(prompt_embeddings.shape()) : "undefined");
  NoGradGuard ng;
  w.detach().copy_(prompt_embeddings.to(w.dtype()));
}

}  // namespace peftcpp::prompt_learning
