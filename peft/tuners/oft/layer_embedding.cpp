// oft.Embedding (port of Embedding in peft/tuners/oft/layer.py @5d602fd): the looked-up
// embedding vectors are rotated; merging multiplies the table by the rotation on the right.
#include "nn/layers/activation.h"
#include "peft/tuners/oft/layer.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::oft {

Embedding::Embedding(
    std::shared_ptr<nn::UnaryModule> base_layer,
    const std::string& adapter,
    const OFTConfig& config,
    std::int64_t rank)
    : OFTLayer(std::move(base_layer), adapter) {
  update_layer(adapter, rank, config);
}

void Embedding::update_layer(
    const std::string& adapter, std::int64_t rank, const OFTConfig& config) {
  create_rotation(*oft_embedding_R_, adapter, rank, config, in_features, {0, 0});
  set_adapter(active_adapters_);
}

Tensor Embedding::merged_weight(const Tensor& weight, const Tensor& blocks) const {
  // W R: column block i of the table times R_i
  const std::int64_t num = weight.size(0), n = blocks.size(0), bs = blocks.size(1);
  PEFTCPP_CHECK_SHAPE(
      weight.size(1) == n * bs,
      "[oft] cannot merge a rotation over ",
      n * bs,
      " features into an embedding table of shape ",
      shape_str(weight.shape()));
  const Tensor per_block = weight.reshape({num, n, bs}).transpose(0, 1);
  return matmul(per_block, blocks).transpose(0, 1).reshape({num, n * bs});
}

Tensor Embedding::forward(const Tensor& x) {
  if (disable_adapters_) {
    if (merged())
      unmerge();
    return base_layer_->forward(x);
  }
  if (merged())
    return base_layer_->forward(x);
  Tensor result = base_layer_->forward(x);
  const DType out_dtype = result.dtype();
  for (const std::string& a : active_adapters_) {
    if (!oft_embedding_R_->contains(a))
      continue;
    OFTRotationModule& rot = rotation(a);
    if (result.dtype() != rot.weight.dtype())
      result = result.to(rot.weight.dtype());
    result = rot.forward(result);
  }
  return result.dtype() == out_dtype ? result : result.to(out_dtype);
}

}  // namespace peftcpp::oft
