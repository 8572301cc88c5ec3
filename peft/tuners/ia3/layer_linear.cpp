// ia3.Linear: (IA)^3 on nn::Linear and on transformers' Conv1D (port of Linear in
// peft/tuners/ia3/layer.py @5d602fd).
#include "autograd/grad_mode.h"
#include "peft/tuners/ia3/layer.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::ia3 {
namespace {

// PEFT's unmerge adds this to the vector so that a zero entry does not divide by zero.
constexpr double kUnmergeEps = 1e-8;

}  // namespace

Linear::Linear(
    std::shared_ptr<nn::UnaryModule> base_layer,
    const std::string& adapter,
    const IA3Config& config,
    bool feedforward,
    bool is_conv_1d)
    : IA3Layer(std::move(base_layer), adapter, feedforward), is_target_conv_1d_layer(is_conv_1d) {
  fan_in_fan_out = config.fan_in_fan_out;
  update_layer(adapter, config);
}

Shape Linear::vector_shape() const {
  return is_feedforward ? Shape{1, in_features} : Shape{out_features, 1};
}

void Linear::merge_adapter(const std::string& adapter, bool safe_merge) {
  NoGradGuard g;
  Tensor& weight = base_weight();
  const DType dtype = weight.dtype();
  const Tensor l = ia3_l_->at(adapter).detach();
  // [out, 1] scales the rows (outputs) of a [out, in] weight, [1, in] its columns; a Conv1D
  // weight is [in, out], hence the transpose.
  const Tensor merged = (weight.detach() * (fan_in_fan_out ? l.t() : l)).to(dtype);
  if (safe_merge)
    check_finite_merge(merged, adapter);
  nn::set_data(weight, merged.contiguous());
  Tensor bias = base_bias();
  if (!is_feedforward && bias.defined()) {
    nn::set_data(bias, (bias.detach() * l.reshape(bias.shape())).to(bias.dtype()));
  }
}

void Linear::unmerge_adapter(const std::string& adapter) {
  NoGradGuard g;
  Tensor& weight = base_weight();
  const Tensor l = ia3_l_->at(adapter).detach();
  const Tensor scale = (fan_in_fan_out ? l.t() : l) + kUnmergeEps;
  nn::set_data(weight, (weight.detach() / scale).to(weight.dtype()).contiguous());
  Tensor bias = base_bias();
  if (!is_feedforward && bias.defined()) {
    nn::set_data(bias, (bias.detach() / (l.reshape(bias.shape()) + kUnmergeEps)).to(bias.dtype()));
  }
}

Tensor Linear::forward(const Tensor& x) {
  if (disable_adapters_) {
    if (merged())
      unmerge();
    return base_layer_->forward(x);
  }
  if (merged())
    return base_layer_->forward(x);
  DType dtype = x.dtype();
  const Tensor scaling = combined_scaling(true, dtype);
  if (!scaling.defined())
    return base_layer_->forward(x);
  if (is_feedforward) {
    // x: (..., in) scaled per input feature
    return base_layer_->forward((x.to(dtype) * scaling).to(x.dtype()));
  }
  const Tensor result = base_layer_->forward(x);
  return (result * scaling).to(result.dtype());
}

}  // namespace peftcpp::ia3
