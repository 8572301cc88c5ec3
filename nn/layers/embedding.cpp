// Embedding.
#include "nn/layers/embedding.h"

#include "autograd/grad_mode.h"
#include "nn/functional.h"

namespace peftcpp::nn {

Embedding::Embedding(
    std::int64_t num, std::int64_t dim, std::optional<std::int64_t> pad, const FactoryOptions& opts)
    : num_embeddings(num), embedding_dim(dim) {
  PEFTCPP_CHECK(
      num >= 0 && dim >= 0, "[Embedding] sizes must be non-negative, got ", num, " x ", dim);
  if (pad) {
    const std::int64_t p = *pad < 0 ? *pad + num : *pad;
    PEFTCPP_CHECK_INDEX(
        p >= 0 && p < num,
        "[Embedding] padding_idx ",
        *pad,
        " is out of range for ",
        num,
        " embeddings");
    padding_idx = p;
  }
  weight = zeros({num, dim}, kFloat32, kCPU);
  normal_(weight, 0.0, 1.0, opts.generator);  // same draws as randn; skipped under NoInitGuard
  if (padding_idx)
    weight.select(0, *padding_idx).zero_();
  if (weight.dtype() != opts.dtype)
    weight = weight.to(opts.dtype);
  if (!(weight.device() == opts.device))
    weight = weight.to(opts.device);
  register_parameter("weight", &weight);
}

std::string Embedding::extra_repr() const {
  std::string s = std::to_string(num_embeddings) + ", " + std::to_string(embedding_dim);
  if (padding_idx)
    s += ", padding_idx=" + std::to_string(*padding_idx);
  return s;
}

Tensor Embedding::forward(const Tensor& ids) {
  return functional::embedding(ids, weight, padding_idx);
}

}  // namespace peftcpp::nn
