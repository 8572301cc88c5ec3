// BOFTLayer: what the BOFT layer types share (port of BOFTLayer in peft/tuners/boft/layer.py
// @5d602fd): block settings and their validation, the butterfly rotation, merge / unmerge.
#include "peft/tuners/boft/layer.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <iostream>

#include "autograd/grad_mode.h"
#include "nn/layers/activation.h"
#include "nn/layers/conv.h"
#include "nn/layers/linear.h"
#include "peft/tuners/boft/butterfly.h"
#include "peft/tuners/oft/orthogonal.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::boft {
namespace {

Tensor as_dtype(const Tensor& t, DType dt) {
  return t.dtype() == dt ? t : t.to(dt);
}

void warn_factor_forced_once() {
  static std::atomic<bool> warned{false};
  if (!warned.exchange(true)) {
    std::cerr << "[boft] warning: the fast block-diagonal extension is not used (as PEFT without "
                 "its CUDA extension): setting boft_n_butterfly_factor to 1. See "
                 "boft::set_butterfly_factor_enabled.\n";
  }
}

}  // namespace

BOFTLayer::BOFTLayer(std::shared_ptr<nn::UnaryModule> base_layer, const std::string& adapter)
    : BaseTunerLayer(std::move(base_layer)),
      boft_R_(std::make_shared<AdapterParameterDict>()),
      boft_s_(std::make_shared<AdapterParameterDict>()),
      boft_dropout_(std::make_shared<nn::ModuleDict>()) {
  register_module("boft_dropout", boft_dropout_);
  register_module("boft_R", boft_R_);
  register_module("boft_s", boft_s_);
  adapter_layer_names_ = {"boft_R", "boft_s"};
  active_adapters_ = {adapter};
  nn::ModulePtr base = get_base_layer();
  if (auto* l = dynamic_cast<nn::Linear*>(base.get())) {
    in_features = l->in_features;
    out_features = l->out_features;
  } else if (auto* c = dynamic_cast<nn::Conv2d*>(base.get())) {
    in_features = c->in_channels;
    out_features = c->out_channels;
  } else {
    throw ValueError(detail::concat(
        "[boft] Unsupported layer type ", base->type_name(), " (supported: Linear, Conv2d)"));
  }
}

void BOFTLayer::update_layer(const std::string& adapter, const BOFTConfig& config) {
  std::int64_t block_size = config.boft_block_size;
  std::int64_t block_num = config.boft_block_num;
  std::int64_t factor = config.boft_n_butterfly_factor;
  if (!butterfly_factor_enabled()) {
    if (factor != 1)
      warn_factor_forced_once();
    factor = 1;
  }
  factor -= 1;  // the paper's notation
  PEFTCPP_CHECK(
      factor >= 0,
      "[boft] You can only specify boft_n_butterfly_factor ",
      factor + 1,
      " to be a positive integer number.");
  if (config.boft_dropout > 0.0) {
    boft_dropout_->insert(
        adapter, std::make_shared<MultiplicativeDropoutLayer>(config.boft_dropout));
  } else {
    boft_dropout_->insert(adapter, std::make_shared<nn::Identity>());
  }
  const std::int64_t dim = feature_dim();
  const std::string label = feature_label();
  const std::int64_t pow2 = std::int64_t{1} << std::min<std::int64_t>(factor, 62);
  if (block_size == 0 && block_num != 0) {
    PEFTCPP_CHECK(
        dim % block_num == 0,
        "[boft] ",
        label,
        " (",
        dim,
        ") must be divisible by boft_block_num (",
        block_num,
        ")!");
    if (factor != 0) {
      PEFTCPP_CHECK(
          factor <= static_cast<std::int64_t>(std::log2(static_cast<double>(block_num))),
          "[boft] Invalid combination of boft_n_butterfly_factor (",
          factor + 1,
          ") and boft_block_num (",
          block_num,
          ")!");
      PEFTCPP_CHECK(
          block_num % pow2 == 0,
          "[boft] boft_block_num (",
          block_num,
          ") must be a multiple of 2 raised to the power of boft_n_butterfly_factor (",
          factor + 1,
          ")!");
    }
    block_size = dim / block_num;
  } else if (block_size != 0 && block_num == 0) {
    PEFTCPP_CHECK(
        dim % block_size == 0,
        "[boft] ",
        label,
        " (",
        dim,
        ") must be divisible by boft_block_size (",
        block_size,
        ")!");
    if (factor != 0) {
      PEFTCPP_CHECK(
          dim >= block_size * pow2 && dim % (block_size * pow2) == 0,
          "[boft] Invalid combination of ",
          label,
          " (",
          dim,
          "), boft_n_butterfly_factor (",
          factor + 1,
          ") and boft_block_size (",
          block_size,
          ")!");
    }
    block_num = dim / block_size;
  } else {
    throw ValueError(detail::concat(
        "[boft] exactly one of boft_block_size (",
        block_size,
        ") and boft_block_num (",
        block_num,
        ") must be non-zero"));
  }
  if (factor != 0) {
    PEFTCPP_CHECK(
        block_num % 2 == 0, "[boft] boft_block_num (", block_num, ") must be an even number!");
    PEFTCPP_CHECK(
        block_size % 2 == 0, "[boft] boft_block_size (", block_size, ") must be an even number!");
  }
  std::vector<std::vector<std::int64_t>> perms;
  std::vector<Tensor> index, inverse_index;
  for (std::int64_t i = 0; i <= factor; ++i) {
    perms.push_back(
        block_butterfly_perm(dim, block_num / (std::int64_t{1} << i), block_size / 2, factor));
    bool identity = true;
    for (std::size_t k = 0; k < perms.back().size(); ++k) {
      identity = identity && perms.back()[k] == static_cast<std::int64_t>(k);
    }
    std::vector<std::int64_t> inv(perms.back().size());
    for (std::size_t k = 0; k < inv.size(); ++k) {
      inv[static_cast<std::size_t>(perms.back()[k])] = static_cast<std::int64_t>(k);
    }
    index.push_back(identity ? Tensor() : tensor<std::int64_t>(perms.back(), {dim}));
    inverse_index.push_back(identity ? Tensor() : tensor<std::int64_t>(inv, {dim}));
  }
  const DType dt = base_weight().dtype() == kFloat64 ? kFloat64 : kFloat32;
  boft_R_->insert(adapter, zeros({factor + 1, block_num, block_size, block_size}, dt));
  boft_s_->insert(adapter, ones(scale_shape(), dt));
  perms_[adapter] = std::move(perms);
  perm_index_[adapter] = std::move(index);
  perm_inverse_[adapter] = std::move(inverse_index);
  reset_boft_parameters(adapter, config.init_weights);
  boft_block_size[adapter] = block_size;
  boft_block_num[adapter] = block_num;
  set_adapter(active_adapters_, config.inference_mode);
}

void BOFTLayer::reset_boft_parameters(const std::string& adapter, bool init_weights) {
  NoGradGuard no_grad;
  Tensor& r = boft_R_->at(adapter);
  Tensor& s = boft_s_->at(adapter);
  if (init_weights) {
    r.zero_();
    s.fill_(1.0);
  } else {
    normal_(r, 0.0, 0.1);
    normal_(s, 1.0, 0.1);
  }
}

const std::vector<std::vector<std::int64_t>>& BOFTLayer::permutations(
    const std::string& adapter) const {
  auto it = perms_.find(adapter);
  PEFTCPP_CHECK(it != perms_.end(), "[boft] no adapter '", adapter, "' in this layer");
  return it->second;
}

Tensor BOFTLayer::orthogonal_blocks(const std::string& adapter) const {
  const Tensor r = boft_R_->at(adapter);
  const std::int64_t n = r.size(0), d = r.size(1), h = r.size(2);
  const Tensor flat = r.reshape({n * d, h, h});
  const Tensor skew = (flat - flat.mT()) * 0.5;
  return oft::cayley_solve(skew).view({n, d, h, h});
}

Tensor BOFTLayer::butterfly_matrix(const std::string& adapter, bool dropout) const {
  Tensor blocks = orthogonal_blocks(adapter);
  if (dropout)
    blocks = boft_dropout_->at_as<nn::UnaryModule>(adapter)->forward(blocks);
  const Tensor diag = oft::block_diagonal(blocks);  // [m, n, n]
  const std::vector<Tensor>& index = perm_index_.at(adapter);
  Tensor out;
  for (std::int64_t i = 0; i < diag.size(0); ++i) {
    Tensor f = diag.select(0, i);
    const Tensor& p = index[static_cast<std::size_t>(i)];
    if (p.defined())
      f = index_select(index_select(f, 0, p), 1, p);  // P F P^T
    out = out.defined() ? matmul(f, out) : f;
  }
  return out;
}

Tensor BOFTLayer::scale_column(const std::string& adapter) const {
  // Linear stores [out, 1], Conv2d [1, out]: the same values in the same order
  return boft_s_->at(adapter).reshape({out_features, 1});
}

std::pair<Tensor, Tensor> BOFTLayer::get_delta_weight(const std::string& adapter) const {
  return {butterfly_matrix(adapter), scale_column(adapter)};
}

Tensor BOFTLayer::rotate(
    const Tensor& x, const std::string& adapter, bool transposed, bool dropout) const {
  Tensor blocks = orthogonal_blocks(adapter);  // [m, D, H, H]
  if (dropout)
    blocks = boft_dropout_->at_as<nn::UnaryModule>(adapter)->forward(blocks);
  blocks = as_dtype(blocks, x.dtype());
  const std::int64_t m = blocks.size(0), d = blocks.size(1), h = blocks.size(2);
  const std::int64_t rows = x.size(0);
  PEFTCPP_CHECK_SHAPE(
      x.dim() == 2 && x.size(1) == d * h,
      "[boft] cannot rotate ",
      shape_str(x.shape()),
      " by a butterfly over ",
      d * h,
      " features");
  const std::vector<Tensor>& perm = perm_index_.at(adapter);
  const std::vector<Tensor>& inv = perm_inverse_.at(adapter);
  Tensor y = x;
  // x M = x F_{m-1} ... F_0;  x M^T = x F_0^T ... F_{m-1}^T
  for (std::int64_t step = 0; step < m; ++step) {
    const std::int64_t f = transposed ? step : m - 1 - step;
    const auto fi = static_cast<std::size_t>(f);
    const Tensor b = transposed ? blocks.select(0, f).mT() : blocks.select(0, f);
    if (inv[fi].defined())
      y = index_select(y, 1, inv[fi]);
    y = matmul(y.reshape({rows, d, h}).transpose(0, 1), b).transpose(0, 1).reshape({rows, d * h});
    if (perm[fi].defined())
      y = index_select(y, 1, perm[fi]);
  }
  return y;
}

Tensor BOFTLayer::active_scale(DType dtype) const {
  Tensor scale;
  for (const std::string& a : active_adapters_) {
    if (!boft_R_->contains(a))
      continue;
    const Tensor s = as_dtype(scale_column(a), dtype);
    scale = scale.defined() ? s * scale : s;
  }
  return scale;
}

void BOFTLayer::merge_adapter(const std::string& adapter, bool safe_merge) {
  NoGradGuard no_grad;
  Tensor& weight = base_weight();
  const DType dt = weight.dtype();
  const DType adt = boft_R_->at(adapter).dtype();
  // (M W^T)^T * s = W M^T * s over W.view(out, -1)
  const Tensor w2 = as_dtype(weight.detach(), adt).reshape({out_features, -1});
  const Tensor merged = (rotate(w2, adapter, true, false) * as_dtype(scale_column(adapter), adt))
                            .reshape(weight.shape());
  if (safe_merge)
    check_finite_merge(merged, adapter);
  nn::set_data(weight, as_dtype(merged, dt).contiguous());
}

void BOFTLayer::unmerge_adapter(const std::string& adapter) {
  NoGradGuard no_grad;
  Tensor& weight = base_weight();
  const DType dt = weight.dtype();
  const DType adt = boft_R_->at(adapter).dtype();
  // (M^T W^T)^T / s = W M / s
  const Tensor w2 = as_dtype(weight.detach(), adt).reshape({out_features, -1});
  const Tensor inv_s = 1.0 / as_dtype(scale_column(adapter), adt);
  const Tensor restored = (rotate(w2, adapter, false, false) * inv_s).reshape(weight.shape());
  nn::set_data(weight, as_dtype(restored, dt).contiguous());
}

void BOFTLayer::erase_adapter_settings(const std::string& name) {
  boft_block_size.erase(name);
  boft_block_num.erase(name);
  perms_.erase(name);
  perm_index_.erase(name);
  perm_inverse_.erase(name);
  if (boft_dropout_->contains(name))
    boft_dropout_->pop(name);
}

void BOFTLayer::set_scale(const std::string& adapter, double /*scale*/) {
  if (!has_adapter(adapter))
    return;
  std::cerr << "[boft] warning: Scaling operation for BOFT not supported! Automatically set scale "
               "to 1.\n";
}

void BOFTLayer::scale_layer(double scale) {
  if (scale == 1.0)
    return;
  for (const std::string& a : active_adapters_) {
    if (!boft_R_->contains(a))
      continue;
    std::cerr << "[boft] warning: Scaling operation for BOFT not supported! Automatically set "
                 "scale to 1.\n";
  }
}

void BOFTLayer::unscale_layer(std::optional<double> /*scale*/) {
  for (const std::string& a : active_adapters_) {
    if (!boft_R_->contains(a))
      continue;
    std::cerr
        << "[boft] warning: Unscaling operation for BOFT not supported! Keeping scale to 1.\n";
  }
}

}  // namespace peftcpp::boft
