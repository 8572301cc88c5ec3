// boft.Conv2d (port of Conv2d in peft/tuners/boft/layer.py @5d602fd): the base kernel, viewed
// as [out, in*k*k], is rotated and scaled, then convolved with the base bias, padding[0] and
// stride[0] (PEFT passes neither dilation nor groups, so both must be 1 here).
#include "nn/functional.h"
#include "nn/layers/conv.h"
#include "peft/tuners/boft/layer.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::boft {
namespace {

nn::Conv2d& conv_of(const BaseTunerLayer& layer) {
  return dynamic_cast<nn::Conv2d&>(*layer.get_base_layer());
}

}  // namespace

Conv2d::Conv2d(
    std::shared_ptr<nn::UnaryModule> base_layer,
    const std::string& adapter,
    const BOFTConfig& config)
    : BOFTLayer(std::move(base_layer), adapter) {
  const nn::Conv2d& base = conv_of(*this);
  PEFTCPP_CHECK(
      base.kernel_size.size() == 2 && base.kernel_size[0] == base.kernel_size[1],
      "[boft] BOFT supports square Conv2d kernels only, got (",
      base.kernel_size[0],
      ", ",
      base.kernel_size.size() > 1 ? base.kernel_size[1] : base.kernel_size[0],
      ")");
  PEFTCPP_CHECK(
      base.options.groups == 1,
      "[boft] BOFT does not support Conv2d with groups > 1 (",
      base.options.groups,
      ")");
  for (std::int64_t d : base.options.dilation) {
    PEFTCPP_CHECK(d == 1, "[boft] BOFT does not support Conv2d with dilation > 1 (", d, ")");
  }
  update_layer(adapter, config);
}

std::int64_t Conv2d::feature_dim() const {
  const std::int64_t k = conv_of(*this).kernel_size[0];
  return in_features * k * k;
}

Tensor Conv2d::forward(const Tensor& x) {
  const DType prev = x.dtype();
  auto in_dtype = [&](const Tensor& t) { return t.dtype() == prev ? t : t.to(prev); };
  if (disable_adapters_) {
    if (merged())
      unmerge();
    return in_dtype(base_layer_->forward(x));
  }
  if (merged())
    return in_dtype(base_layer_->forward(x));
  const nn::Conv2d& base = conv_of(*this);
  const Tensor& weight = base_weight();
  const DType wdt = weight.dtype();
  const Tensor scale = active_scale(wdt);
  if (!scale.defined())
    return in_dtype(base_layer_->forward(x));
  const Tensor xw = x.dtype() == wdt ? x : x.to(wdt);
  // ((M_k ... M_1) W'^T)^T = W' M_1^T ... M_k^T, W' = W.view(out, in*k*k)
  Tensor w2 = weight.reshape({out_features, feature_dim()});
  for (const std::string& a : active_adapters_) {
    if (boft_R_->contains(a))
      w2 = rotate(w2, a, true, is_training());
  }
  const Tensor rotated = (w2 * scale).reshape(weight.shape());
  Tensor bias = base_bias();
  if (bias.defined() && bias.dtype() != wdt)
    bias = bias.to(wdt);
  nn::functional::ConvPadding padding = base.options.padding;
  if (padding.mode == "explicit" && !padding.sizes.empty())
    padding.sizes = {padding.sizes[0]};
  const std::vector<std::int64_t> stride = {
      base.options.stride.empty() ? 1 : base.options.stride[0]};
  return in_dtype(nn::functional::conv2d(xw, rotated, bias, stride, padding));
}

}  // namespace peftcpp::boft
