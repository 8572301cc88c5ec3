// ia3.Conv2d: (IA)^3 on nn::Conv2d (port of _ConvNd and Conv2d in peft/tuners/ia3/layer.py
// @5d602fd). The vector is [1, C, 1, 1]: C = in channels for feed-forward layers, else out.
#include "autograd/grad_mode.h"
#include "nn/layers/conv.h"
#include "peft/tuners/ia3/layer.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::ia3 {
namespace {

constexpr double kUnmergeEps = 1e-8;

}  // namespace

Conv2d::Conv2d(
    std::shared_ptr<nn::UnaryModule> base_layer,
    const std::string& adapter,
    const IA3Config& config,
    bool feedforward)
    : IA3Layer(std::move(base_layer), adapter, feedforward) {
  fan_in_fan_out = config.fan_in_fan_out;
  kernel_dim_ = base_weight().dim();
  PEFTCPP_CHECK(
      kernel_dim_ == 4, "[ia3] Conv2d layer kernel must have 4 dimensions, not ", kernel_dim_);
  update_layer(adapter, config);
}

Shape Conv2d::vector_shape() const {
  Shape s{1, is_feedforward ? in_features : out_features};
  for (std::int64_t i = 2; i < kernel_dim_; ++i) s.push_back(1);
  return s;
}

Tensor Conv2d::weight_scaling(const std::string& adapter) const {
  const Tensor l = ia3_l_->at(adapter).detach();
  // output scaling: [1, out, 1, 1] -> [out, 1, 1, 1] against the [out, in, kh, kw] kernel
  return is_feedforward ? l : l.transpose(0, 1);
}

void Conv2d::merge_adapter(const std::string& adapter, bool safe_merge) {
  NoGradGuard g;
  Tensor& weight = base_weight();
  const DType dtype = weight.dtype();
  const Tensor merged = (weight.detach() * weight_scaling(adapter)).to(dtype);
  if (safe_merge)
    check_finite_merge(merged, adapter);
  nn::set_data(weight, merged.contiguous());
  Tensor bias = base_bias();
  if (!is_feedforward && bias.defined()) {
    const Tensor l = ia3_l_->at(adapter).detach().reshape(bias.shape());
    nn::set_data(bias, (bias.detach() * l).to(dtype));
  }
}

void Conv2d::unmerge_adapter(const std::string& adapter) {
  NoGradGuard g;
  Tensor& weight = base_weight();
  const DType dtype = weight.dtype();
  nn::set_data(
      weight, (weight.detach() / (weight_scaling(adapter) + kUnmergeEps)).to(dtype).contiguous());
  Tensor bias = base_bias();
  if (!is_feedforward && bias.defined()) {
    const Tensor l = ia3_l_->at(adapter).detach().reshape(bias.shape());
    nn::set_data(bias, (bias.detach() / (l + kUnmergeEps)).to(bias.dtype()));
  }
}

Tensor Conv2d::forward(const Tensor& x) {
  if (disable_adapters_) {
    if (merged())
      unmerge();
    return base_layer_->forward(x);
  }
  if (merged())
    return base_layer_->forward(x);
  DType dtype = x.dtype();
  const Tensor scaling = combined_scaling(false, dtype);
  if (!scaling.defined())
    return base_layer_->forward(x);
  // x: (N, C, H, W); scaling: (1, C, 1, 1)
  if (is_feedforward) {
    const Tensor interm = (x.to(dtype) * scaling).to(base_weight().dtype());
    return base_layer_->forward(interm).to(x.dtype());
  }
  return (base_layer_->forward(x).to(dtype) * scaling).to(x.dtype());
}

}  // namespace peftcpp::ia3
