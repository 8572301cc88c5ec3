// torch.nn.Embedding.
#pragma once

#include <optional>

#include "nn/module.h"
#include "nn/options.h"

namespace peftcpp::nn {

/// A lookup table weight [num_embeddings, embedding_dim] ~ N(0, 1); forward(ids) picks rows. The
/// row `padding_idx` starts at zero and never receives a gradient.
class Embedding : public UnaryModule {
 public:
  Embedding(
      std::int64_t num_embeddings,
      std::int64_t embedding_dim,
      std::optional<std::int64_t> padding_idx = std::nullopt,
      const FactoryOptions& opts = {});
  std::string type_name() const override {
    return "Embedding";
  }
  std::string extra_repr() const override;
  /// ids: int64 of any shape -> ids.shape + [embedding_dim].
  Tensor forward(const Tensor& ids) override;

  std::int64_t num_embeddings, embedding_dim;
  std::optional<std::int64_t> padding_idx;  // normalised to [0, num_embeddings)
  Tensor weight;
};

}  // namespace peftcpp::nn
