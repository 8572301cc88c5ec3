// LycorisLayer (port of LycorisLayer in peft/tuners/lycoris_utils.py and of the forward /
// _get_delta_activations shared by peft/tuners/{loha,lokr}/layer.py @5d602fd).
#include "peft/tuners/lycoris/layer.h"

#include <set>

#include "autograd/grad_mode.h"
#include "nn/functional.h"
#include "nn/layers/conv.h"
#include "nn/layers/linear.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::lycoris {
namespace {

const char* kind_name(BaseKind k) {
  switch (k) {
    case BaseKind::Linear:
      return "Linear";
    case BaseKind::Conv1d:
      return "Conv1d";
    case BaseKind::Conv2d:
      return "Conv2d";
  }
  return "?";
}

}  // namespace

std::optional<BaseKind> base_kind_of(const nn::Module& module) {
  if (dynamic_cast<const nn::Conv2d*>(&module) != nullptr)
    return BaseKind::Conv2d;
  if (dynamic_cast<const nn::Conv1d*>(&module) != nullptr)
    return BaseKind::Conv1d;
  if (dynamic_cast<const nn::Linear*>(&module) != nullptr)
    return BaseKind::Linear;
  return std::nullopt;
}

Tensor rebuild_cp(const Tensor& t, const Tensor& wa, const Tensor& wb) {
  // t: [i, j, k, l], wa: [i, p], wb: [j, r] -> out[p, r, k, l] = sum_ij t[i,j,k,l] wa[i,p] wb[j,r]
  PEFTCPP_CHECK_SHAPE(
      t.dim() == 4 && wa.dim() == 2 && wb.dim() == 2 && t.size(0) == wa.size(0) &&
          t.size(1) == wb.size(0),
      "[lycoris] CP rebuild needs t [R, R, k1, k2], wa [R, P], wb [R, Q]; got ",
      shape_str(t.shape()),
      ", ",
      shape_str(wa.shape()),
      ", ",
      shape_str(wb.shape()));
  const Tensor tj = matmul(t.permute({2, 3, 0, 1}), wb);  // [k, l, i, r]
  const Tensor tp = matmul(tj.transpose(2, 3), wa);       // [k, l, r, p]
  return tp.permute({3, 2, 0, 1}).contiguous();           // [p, r, k, l]
}

LycorisLayer::LycorisLayer(
    std::shared_ptr<nn::UnaryModule> base_layer,
    const std::string& adapter,
    const std::string& method,
    const std::vector<std::string>& containers)
    : BaseTunerLayer(std::move(base_layer)), method_(method) {
  nn::ModulePtr base = get_base_layer();
  const std::optional<BaseKind> kind = base_kind_of(*base);
  PEFTCPP_CHECK(
      kind.has_value(),
      "[",
      method,
      "] ",
      method,
      " is not implemented for base layers "
      "of type ",
      base->type_name(),
      " (supported: Conv2d, Conv1d, Linear)");
  kind_ = *kind;
  if (auto* l = dynamic_cast<nn::Linear*>(base.get())) {
    in_features = l->in_features;
    out_features = l->out_features;
  } else if (auto* c1 = dynamic_cast<nn::Conv1d*>(base.get())) {
    in_features = c1->in_channels;
    out_features = c1->out_channels;
  } else if (auto* c2 = dynamic_cast<nn::Conv2d*>(base.get())) {
    in_features = c2->in_channels;
    out_features = c2->out_channels;
  }
  for (const std::string& name : containers) {
    auto dict = std::make_shared<AdapterParameterDict>();
    register_module(name, dict);
    dicts_[name] = dict;
    adapter_layer_names_.push_back(name);
  }
  active_adapters_ = {adapter};
}

std::string LycorisLayer::type_name() const {
  return method_ + "." + kind_name(kind_);
}

AdapterParameterDict& LycorisLayer::params(const std::string& name) const {
  auto it = dicts_.find(name);
  PEFTCPP_CHECK(
      it != dicts_.end(), "[", method_, "] layer has no parameter container '", name, "'");
  return *it->second;
}

void LycorisLayer::set_adapter_settings(
    const std::string& adapter, int rank, double alpha_value, const LycorisConfig& config) {
  PEFTCPP_CHECK(
      rank > 0,
      "[",
      method_,
      "] `r` should be a positive integer value but the value "
      "passed is ",
      rank);
  r[adapter] = rank;
  alpha[adapter] = alpha_value;
  scaling[adapter] = alpha_value / rank;
  rank_dropout[adapter] = config.rank_dropout;
  module_dropout[adapter] = config.module_dropout;
}

Tensor& LycorisLayer::new_param(
    const std::string& name, const std::string& adapter, const Shape& shape) {
  // PEFT creates float32 parameters and moves them to a floating base's dtype; 16-bit ones are
  // upcast again by autocast_adapter_dtype, so only float64 bases keep their own dtype.
  const DType dt = base_weight().dtype() == kFloat64 ? kFloat64 : kFloat32;
  return params(name).insert(adapter, zeros(shape, dt), true);
}

std::vector<std::int64_t> LycorisLayer::kernel_size() const {
  nn::ModulePtr base = get_base_layer();
  if (auto* c1 = dynamic_cast<nn::Conv1d*>(base.get()))
    return {c1->kernel_size};
  if (auto* c2 = dynamic_cast<nn::Conv2d*>(base.get())) {
    const auto& k = c2->kernel_size;
    return k.size() == 1 ? std::vector<std::int64_t>{k[0], k[0]} : k;
  }
  return {};
}

std::int64_t LycorisLayer::groups() const {
  nn::ModulePtr base = get_base_layer();
  if (auto* c1 = dynamic_cast<nn::Conv1d*>(base.get()))
    return c1->options.groups;
  if (auto* c2 = dynamic_cast<nn::Conv2d*>(base.get()))
    return c2->options.groups;
  return 1;
}

Tensor LycorisLayer::drop_rows(const Tensor& weight, double p, bool rescale) const {
  Tensor drop = gt(rand({weight.size(0)}), p).to(weight.dtype());
  if (rescale)
    drop = drop / drop.mean();
  Shape view(static_cast<std::size_t>(weight.dim()), 1);
  view[0] = -1;
  return weight * drop.reshape(view);
}

Tensor LycorisLayer::delta_activations(const std::string& adapter, const Tensor& x) const {
  const Tensor w = get_delta_weight(adapter);
  const Tensor in = cast_input_dtype_enabled && x.dtype() != w.dtype() ? x.to(w.dtype()) : x;
  nn::ModulePtr base = get_base_layer();
  // no bias: the base layer's output already has it
  switch (kind_) {
    case BaseKind::Linear:
      return linear(in, w);
    case BaseKind::Conv1d: {
      auto* c = dynamic_cast<nn::Conv1d*>(base.get());
      return nn::functional::conv1d(
          in,
          w,
          Tensor(),
          c->options.stride,
          c->options.padding,
          c->options.dilation,
          c->options.groups);
    }
    case BaseKind::Conv2d: {
      auto* c = dynamic_cast<nn::Conv2d*>(base.get());
      return nn::functional::conv2d(
          in,
          w,
          Tensor(),
          c->options.stride,
          c->options.padding,
          c->options.dilation,
          c->options.groups);
    }
  }
  return Tensor();
}

Tensor LycorisLayer::forward(const Tensor& x) {
  const DType previous = x.dtype();
  Tensor result;
  if (disable_adapters_) {
    if (merged())
      unmerge();
    result = base_layer_->forward(x);
  } else if (merged()) {
    result = base_layer_->forward(x);
  } else {
    result = base_layer_->forward(x);
    for (const std::string& a : active_adapters_) {
      if (!has_adapter(a))
        continue;
      // module dropout: the adapter is skipped for this forward with probability p
      if (is_training() && !(rand({1}).item<float>() > module_dropout.at(a)))
        continue;
      result = result + delta_activations(a, x);
    }
  }
  return result.dtype() == previous ? result : result.to(previous);
}

void LycorisLayer::merge_adapter(const std::string& adapter, bool safe_merge) {
  NoGradGuard no_grad;
  Tensor& weight = base_weight();
  const Tensor merged_weight =
      weight.detach() + get_delta_weight(adapter).detach().to(weight.dtype());
  if (safe_merge)
    check_finite_merge(merged_weight, adapter);
  nn::set_data(weight, merged_weight.contiguous());
}

void LycorisLayer::unmerge_adapter(const std::string& adapter) {
  NoGradGuard no_grad;
  Tensor& weight = base_weight();
  nn::set_data(
      weight,
      (weight.detach() - get_delta_weight(adapter).detach().to(weight.dtype())).contiguous());
}

void LycorisLayer::set_scale(const std::string& adapter, double scale) {
  if (!has_adapter(adapter))
    return;
  scaling[adapter] = scale * alpha.at(adapter) / r.at(adapter);
}

void LycorisLayer::scale_layer(double scale) {
  if (scale == 1.0)
    return;
  for (const std::string& a : active_adapters_) {
    if (has_adapter(a))
      scaling[a] *= scale;
  }
}

void LycorisLayer::unscale_layer(std::optional<double> scale) {
  for (const std::string& a : active_adapters_) {
    if (!has_adapter(a))
      continue;
    scaling[a] = scale ? scaling[a] / *scale : alpha.at(a) / r.at(a);
  }
}

std::vector<std::string> LycorisLayer::all_adapter_names() const {
  std::set<std::string> s;
  for (const std::string& a : BaseTunerLayer::all_adapter_names()) s.insert(a);
  for (const auto& [k, v] : r) s.insert(k);
  return {s.begin(), s.end()};
}

void LycorisLayer::erase_adapter_settings(const std::string& name) {
  r.erase(name);
  alpha.erase(name);
  scaling.erase(name);
  rank_dropout.erase(name);
  rank_dropout_scale.erase(name);
  module_dropout.erase(name);
}

}  // namespace peftcpp::lycoris
