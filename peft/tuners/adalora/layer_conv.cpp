// adalora.SVDConv2d: AdaLoRA on nn::Conv2d (port of SVDConv2d in peft/tuners/adalora/layer.py
// @5d602fd). lora_A holds the flattened kernel [r, in_channels * kh * kw]; the update is the
// convolution of the input with B @ (A * E) * scaling / (ranknum + 1e-5) reshaped to the base
// kernel, with the base stride / padding / dilation.
#include "nn/functional.h"
#include "nn/layers/conv.h"
#include "peft/tuners/adalora/layer.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::adalora {
namespace {

nn::Conv2d& base_conv2d(const nn::ModulePtr& base) {
  return dynamic_cast<nn::Conv2d&>(*base);
}

}  // namespace

SVDConv2d::SVDConv2d(
    std::shared_ptr<nn::UnaryModule> base_layer,
    const std::string& adapter,
    const AdaLoraConfig& config,
    int rank,
    double alpha)
    : AdaLoraLayer(std::move(base_layer), adapter) {
  nn::ModulePtr base = get_base_layer();
  auto* conv = dynamic_cast<nn::Conv2d*>(base.get());
  PEFTCPP_CHECK(conv != nullptr, "[adalora] SVDConv2d cannot wrap a ", base->type_name());
  // PEFT sizes lora_A with all in_channels, so the reshape to a grouped kernel fails there
  PEFTCPP_CHECK(
      conv->options.groups == 1,
      "[adalora] SVDConv2d supports only Conv2d layers with groups == 1, got groups=",
      conv->options.groups);
  in_features = conv->in_channels;
  out_features = conv->out_channels;
  base_weight().requires_grad_(false);
  update_layer(adapter, rank, alpha, config);
}

std::int64_t SVDConv2d::a_columns() const {
  const nn::Conv2d& conv = base_conv2d(get_base_layer());
  return in_features * conv.kernel_size.at(0) * conv.kernel_size.at(1);
}

Tensor SVDConv2d::get_delta_weight(const std::string& adapter) const {
  return scaled_product(adapter).reshape(base_weight().shape());
}

Tensor SVDConv2d::adapter_output(const std::string& adapter, const Tensor& x) {
  const nn::Conv2d& conv = base_conv2d(get_base_layer());
  const Tensor delta_w = scaled_product(adapter).reshape(base_weight().shape());
  return nn::functional::conv2d(
      apply_dropout(adapter, x),
      delta_w,
      Tensor(),
      conv.options.stride,
      conv.options.padding,
      conv.options.dilation,
      conv.options.groups);
}

}  // namespace peftcpp::adalora
