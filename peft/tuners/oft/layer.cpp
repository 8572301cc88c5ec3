// OFTLayer: what the OFT layer types share (port of OFTLayer and MultiplicativeDropoutLayer in
// peft/tuners/oft/layer.py @5d602fd): block-size resolution, initialisation, the rotation as a
// delta weight, merge / unmerge and the rotate-then-base forward.
#include "peft/tuners/oft/layer.h"

#include <iostream>

#include "autograd/grad_mode.h"
#include "nn/layers/activation.h"
#include "nn/layers/conv.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::oft {
namespace {

Tensor as_dtype(const Tensor& t, DType dt) {
  return t.dtype() == dt ? t : t.to(dt);
}

bool is_16bit(DType d) {
  return d == kFloat16 || d == kBFloat16;
}

}  // namespace

Tensor MultiplicativeDropoutLayer::forward(const Tensor& x) {
  if (!is_training() || p <= 0.0)
    return x;
  PEFTCPP_CHECK_SHAPE(
      x.dim() == 3 && x.size(-1) == x.size(-2),
      "[oft] multiplicative dropout expects blocks [D, H, H], got ",
      shape_str(x.shape()));
  const std::int64_t d = x.size(0), h = x.size(1);
  if (d == 1)
    return x;  // block share: nothing to drop
  const auto num = static_cast<std::int64_t>(p * static_cast<double>(d));
  const Tensor ordered = cat({ones({num}, x.dtype()), zeros({d - num}, x.dtype())});
  const Tensor mask = index_select(ordered, 0, randperm(d)).view({d, 1, 1});
  const Tensor id = eye(h, h, x.dtype()).unsqueeze(0);
  return (1.0 - mask) * x + mask * id;
}

OFTLayer::OFTLayer(std::shared_ptr<nn::UnaryModule> base_layer, const std::string& adapter)
    : BaseTunerLayer(std::move(base_layer)),
      oft_R_(std::make_shared<nn::ModuleDict>()),
      oft_embedding_R_(std::make_shared<nn::ModuleDict>()),
      oft_dropout_(std::make_shared<nn::ModuleDict>()) {
  register_module("oft_R", oft_R_);
  register_module("oft_embedding_R", oft_embedding_R_);
  register_module("oft_dropout", oft_dropout_);
  adapter_layer_names_ = {"oft_R", "oft_embedding_R"};
  active_adapters_ = {adapter};
  nn::ModulePtr base = get_base_layer();
  if (auto* l = dynamic_cast<nn::Linear*>(base.get())) {
    in_features = l->in_features;
    out_features = l->out_features;
  } else if (auto* c = dynamic_cast<nn::Conv2d*>(base.get())) {
    in_features = c->in_channels;
    out_features = c->out_channels;
  } else if (auto* e = dynamic_cast<nn::Embedding*>(base.get())) {
    in_features = e->embedding_dim;
    out_features = e->num_embeddings;
  } else {
    throw ValueError(detail::concat(
        "[oft] OFT layers cannot wrap a ",
        base->type_name(),
        " (supported: Linear, Conv2d, Embedding)"));
  }
}

OFTRotationModule& OFTLayer::rotation(const std::string& adapter) const {
  if (oft_R_->contains(adapter))
    return *oft_R_->at_as<OFTRotationModule>(adapter);
  return *oft_embedding_R_->at_as<OFTRotationModule>(adapter);
}

std::int64_t OFTLayer::adjust_oft_parameters(std::int64_t in_features_, std::int64_t params) {
  if (params >= in_features_)
    return in_features_;
  std::int64_t higher = params;
  while (higher <= in_features_ && in_features_ % higher != 0) ++higher;
  std::int64_t lower = params;
  while (lower > 1 && in_features_ % lower != 0) --lower;
  return (params - lower) <= (higher - params) ? lower : higher;
}

void OFTLayer::update_layer(
    const std::string& adapter, std::int64_t rank, const OFTConfig& config) {
  if (config.module_dropout > 0.0) {
    oft_dropout_->insert(
        adapter, std::make_shared<MultiplicativeDropoutLayer>(config.module_dropout));
  } else {
    oft_dropout_->insert(adapter, std::make_shared<nn::Identity>());
  }
  create_rotation(*oft_R_, adapter, rank, config, in_features, {0, 0});
  set_adapter(active_adapters_);
}

void OFTLayer::create_rotation(
    nn::ModuleDict& container,
    const std::string& adapter,
    std::int64_t rank,
    const OFTConfig& config,
    std::int64_t dim,
    const std::vector<std::int64_t>& kernel_size) {
  std::int64_t block = config.oft_block_size;
  if (rank == 0 && block != 0) {
    if (dim % block != 0 || block > dim) {
      const std::int64_t old = block;
      block = adjust_oft_parameters(dim, block);
      std::cerr << "[oft] warning: Invalid `oft_block_size` (" << old
                << ")! Adjusted `oft_block_size` to (" << block << ").\n";
    }
    rank = dim / block;
  } else if (rank != 0 && block == 0) {
    PEFTCPP_CHECK(rank > 0, "[oft] `r` must be positive, got ", rank);
    if (dim % rank != 0 || rank > dim) {
      const std::int64_t old = rank;
      rank = adjust_oft_parameters(dim, rank);
      std::cerr << "[oft] warning: Invalid `r` (" << old << ")! Adjusted `r` to (" << rank
                << ").\n";
    }
    block = dim / rank;
  } else {
    throw ValueError(detail::concat(
        "[oft] exactly one of r (", rank, ") and oft_block_size (", block, ") must be non-zero"));
  }
  const DType dt = base_weight().dtype() == kFloat64 ? kFloat64 : kFloat32;
  auto module = std::make_shared<OFTRotationModule>(
      config.block_share ? 1 : rank,
      block * (block - 1) / 2,
      block,
      dim,
      config.coft,
      config.eps,
      config.block_share,
      kernel_size,
      config.use_cayley_neumann,
      config.num_cayley_neumann_terms);
  module->to(dt);
  container.insert(adapter, module);
  reset_oft_parameters(adapter, config.init_weights);
  r[adapter] = rank;
  oft_block_size[adapter] = block;
}

void OFTLayer::reset_oft_parameters(const std::string& adapter, bool init_weights) {
  NoGradGuard no_grad;
  Tensor& w = rotation(adapter).weight;
  if (init_weights) {
    w.zero_();
  } else {
    normal_(w, 0.0, 0.1);
  }
}

namespace {

// Runs `fn` on the rotation module; 16-bit adapters are computed in float32 and cast back (PEFT
// does so for merges on the CPU).
template <class Fn>
Tensor in_float32_if_16bit(OFTRotationModule& mod, Fn&& fn) {
  const DType dt = mod.weight.dtype();
  if (!is_16bit(dt))
    return fn();
  Tensor original = mod.weight.detach();
  nn::set_data(mod.weight, original.to(kFloat32));
  Tensor out;
  try {
    out = fn().to(dt);
  } catch (...) {
    nn::set_data(mod.weight, original);
    throw;
  }
  nn::set_data(mod.weight, original);
  return out;
}

}  // namespace

Tensor OFTLayer::get_delta_weight(const std::string& adapter) const {
  OFTRotationModule& mod = rotation(adapter);
  return in_float32_if_16bit(mod, [&] { return mod.get_weight(); });
}

Tensor OFTLayer::rotation_blocks(const std::string& adapter, bool inverted) const {
  OFTRotationModule& mod = rotation(adapter);
  const Tensor blocks = in_float32_if_16bit(mod, [&] {
    const Tensor b = mod.blocks();
    return inverted ? inverse(b) : b;
  });
  const std::int64_t n = mod.num_blocks(), bs = mod.block_size;
  return blocks.size(0) == n ? blocks : blocks.expand({n, bs, bs}).contiguous();
}

void OFTLayer::set_scale(const std::string& adapter, double /*scale*/) {
  if (!has_adapter(adapter))
    return;
  std::cerr
      << "[oft] warning: Scaling operation for OFT not supported! Automatically set scale to 1.\n";
}

void OFTLayer::scale_layer(double scale) {
  if (scale == 1.0)
    return;
  for (const std::string& a : active_adapters_) {
    if (!oft_R_->contains(a))
      continue;
    std::cerr << "[oft] warning: Scaling operation for OFT not supported! Automatically set scale "
                 "to 1.\n";
  }
}

void OFTLayer::unscale_layer(std::optional<double> /*scale*/) {
  for (const std::string& a : active_adapters_) {
    if (!oft_R_->contains(a))
      continue;
    std::cerr << "[oft] warning: Unscaling operation for OFT not supported! Keeping scale to 1.\n";
  }
}

void OFTLayer::erase_adapter_settings(const std::string& name) {
  r.erase(name);
  oft_block_size.erase(name);
  if (oft_dropout_->contains(name))
    oft_dropout_->pop(name);
}

Tensor OFTLayer::merged_weight(const Tensor& weight, const Tensor& blocks) const {
  const std::int64_t out = weight.size(0), n = blocks.size(0), bs = blocks.size(1);
  PEFTCPP_CHECK_SHAPE(
      weight.numel() == out * n * bs,
      "[oft] cannot merge a rotation over ",
      n * bs,
      " features into a weight of shape ",
      shape_str(weight.shape()));
  // row block i of R W^T is R_i @ (W^T)[i]
  const Tensor wt = weight.reshape({out, n * bs}).t().reshape({n, bs, out});
  return matmul(blocks, wt).reshape({n * bs, out}).t().reshape(weight.shape());
}

void OFTLayer::merge_adapter(const std::string& adapter, bool safe_merge) {
  NoGradGuard no_grad;
  Tensor& weight = base_weight();
  const DType dt = weight.dtype();
  const Tensor blocks = rotation_blocks(adapter);
  const Tensor merged = merged_weight(as_dtype(weight.detach(), blocks.dtype()), blocks);
  if (safe_merge)
    check_finite_merge(merged, adapter);
  nn::set_data(weight, as_dtype(merged, dt).contiguous());
}

void OFTLayer::unmerge_adapter(const std::string& adapter) {
  NoGradGuard no_grad;
  Tensor& weight = base_weight();
  const DType dt = weight.dtype();
  // R^-1 = blockdiag(R_i^-1); PEFT inverts the dense matrix, which is the same matrix
  const Tensor inv = rotation_blocks(adapter, true);
  const Tensor restored = merged_weight(as_dtype(weight.detach(), inv.dtype()), inv);
  nn::set_data(weight, as_dtype(restored, dt).contiguous());
}

Tensor OFTLayer::rotate_input_forward(const Tensor& x) {
  const DType prev = x.dtype();
  if (disable_adapters_) {
    if (merged())
      unmerge();
    return as_dtype(base_layer_->forward(x), prev);
  }
  if (merged())
    return as_dtype(base_layer_->forward(x), prev);
  Tensor h = x;
  for (const std::string& a : active_adapters_) {
    if (!oft_R_->contains(a))
      continue;
    OFTRotationModule& rot = rotation(a);
    if (is_floating_point(h.dtype()))
      h = as_dtype(h, rot.weight.dtype());
    h = rot.forward(h);
  }
  return as_dtype(base_layer_->forward(as_dtype(h, prev)), prev);
}

}  // namespace peftcpp::oft
