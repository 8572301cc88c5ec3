// lora.Conv1d / lora.Conv2d (port of _ConvNd, Conv1d and Conv2d in peft/tuners/lora/layer.py
// @5d602fd). A copies the base kernel / stride / padding; B is a 1x1 conv with the base groups.
#include <iostream>

#include "nn/functional.h"
#include "nn/layers/conv.h"
#include "peft/tuners/lora/layer.h"
#include "peft/tuners/lora/variants/variants.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::lora {

ConvNd::ConvNd(
    std::shared_ptr<nn::UnaryModule> base_layer,
    const std::string& adapter,
    const LoraConfig& config,
    int rank,
    double alpha,
    const std::string& target_name)
    : LoraLayer(std::move(base_layer), adapter) {
  nn::ModulePtr base = get_base_layer();
  if (auto* c1 = dynamic_cast<nn::Conv1d*>(base.get())) {
    in_features = c1->in_channels;
    out_features = c1->out_channels;
  } else if (auto* c2 = dynamic_cast<nn::Conv2d*>(base.get())) {
    in_features = c2->in_channels;
    out_features = c2->out_channels;
  } else {
    throw ValueError(detail::concat("[lora] lora conv layers cannot wrap a ", base->type_name()));
  }
  PEFTCPP_CHECK(
      config.velora_config.is_null(),
      "[lora] VeLoRA does not support adapting conv "
      "layers (",
      target_name,
      ")");
  const std::int64_t g = groups();
  if (g > 1) {
    std::cerr << "[lora] warning: LoRA adapter added to ConvNd layer with groups > 1. Merging is "
                 "not supported.\n";
  }
  PEFTCPP_CHECK(
      rank % g == 0,
      "[lora] targeting a ",
      base->type_name(),
      " with groups=",
      g,
      " and rank ",
      rank,
      ". Currently, support is limited to conv layers where the rank "
      "is divisible by groups. Either choose a different rank or do not target this "
      "specific layer (",
      target_name,
      ")");
  kernel_dim_ = base_weight().dim();
  fan_in_fan_out = config.fan_in_fan_out;
  update_layer(adapter, rank, alpha, config, target_name);
}

std::int64_t ConvNd::groups() const {
  nn::ModulePtr base = get_base_layer();
  if (auto* c1 = dynamic_cast<nn::Conv1d*>(base.get()))
    return c1->options.groups;
  return dynamic_cast<nn::Conv2d*>(base.get())->options.groups;
}

std::shared_ptr<LoraVariant> ConvNd::resolve_variant(const LoraConfig& config) const {
  return resolve_conv_variant(config);
}

void ConvNd::create_adapter_modules(const std::string& adapter, int rank, bool bias) {
  nn::ModulePtr base = get_base_layer();
  const DType dt = base_weight().dtype() == kFloat64 ? kFloat64 : kFloat32;
  std::shared_ptr<nn::UnaryModule> a, b;
  if (auto* c1 = dynamic_cast<nn::Conv1d*>(base.get())) {
    nn::Conv1dOptions oa;
    oa.stride = c1->options.stride;
    oa.padding = c1->options.padding;
    oa.bias = false;
    a = std::make_shared<nn::Conv1d>(in_features, rank, c1->kernel_size, oa);
    nn::Conv1dOptions ob;
    ob.groups = c1->options.groups;
    ob.bias = bias;
    b = std::make_shared<nn::Conv1d>(rank, out_features, 1, ob);
  } else {
    auto* c2 = dynamic_cast<nn::Conv2d*>(base.get());
    nn::Conv2dOptions oa;
    oa.stride = c2->options.stride;
    oa.padding = c2->options.padding;
    oa.bias = false;
    a = std::make_shared<nn::Conv2d>(in_features, rank, c2->kernel_size, oa);
    nn::Conv2dOptions ob;
    ob.groups = c2->options.groups;
    ob.bias = bias;
    b = std::make_shared<nn::Conv2d>(rank, out_features, std::vector<std::int64_t>{1, 1}, ob);
  }
  a->to(dt);
  b->to(dt);
  lora_A_->insert(adapter, a);
  lora_B_->insert(adapter, b);
}

Tensor ConvNd::base_conv(const Tensor& x, const Tensor& weight) const {
  nn::ModulePtr base = get_base_layer();
  if (auto* c1 = dynamic_cast<nn::Conv1d*>(base.get())) {
    return nn::functional::conv1d(
        x,
        weight,
        Tensor(),
        c1->options.stride,
        c1->options.padding,
        c1->options.dilation,
        c1->options.groups);
  }
  auto* c2 = dynamic_cast<nn::Conv2d*>(base.get());
  return nn::functional::conv2d(
      x,
      weight,
      Tensor(),
      c2->options.stride,
      c2->options.padding,
      c2->options.dilation,
      c2->options.groups);
}

Tensor ConvNd::lora_update(const std::string& adapter, const Tensor& x) {
  return B(adapter)->forward(A(adapter)->forward(dropout(adapter)->forward(x))) *
         scaling.at(adapter);
}

Tensor ConvNd::get_delta_weight(const std::string& adapter) const {
  Tensor wa = A_weight(adapter);
  Tensor wb = B_weight(adapter);
  const DType dt = wa.dtype();
  const bool upcast = dt == kFloat16 || dt == kBFloat16;
  if (upcast) {
    wa = wa.to(kFloat32);
    wb = wb.to(kFloat32);
  }
  const Tensor& w = base_weight();
  const double s = scaling.at(adapter);
  Tensor out;
  if (w.dim() == 4 && w.size(2) == 1 && w.size(3) == 1) {
    // 1x1 conv2d: a plain matrix product of the squeezed kernels
    out = matmul(wb.squeeze(3).squeeze(2), wa.squeeze(3).squeeze(2)).unsqueeze(2).unsqueeze(3) * s;
  } else {
    const Tensor at = wa.transpose(0, 1);
    const Tensor conv =
        kernel_dim_ == 3 ? nn::functional::conv1d(at, wb) : nn::functional::conv2d(at, wb);
    out = groups() > 1 ? conv * s : conv.transpose(0, 1) * s;
  }
  return upcast ? out.to(dt) : out;
}

void ConvNd::merge_adapter(const std::string& adapter, bool safe_merge) {
  if (groups() > 1) {
    throw ValueError("[lora] merging is not supported for conv layers with groups > 1");
  }
  LoraLayer::merge_adapter(adapter, safe_merge);
}

Tensor ConvNd::forward(const Tensor& x) {
  return lora_forward(x);
}

}  // namespace peftcpp::lora
