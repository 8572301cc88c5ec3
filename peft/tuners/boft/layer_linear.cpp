// boft.Linear (port of Linear in peft/tuners/boft/layer.py @5d602fd): the input is rotated by
// the butterfly matrix, the base layer runs, and its output (without bias) is scaled by boft_s.
#include "peft/tuners/boft/layer.h"
#include "tensor/ops.h"

namespace peftcpp::boft {

Linear::Linear(
    std::shared_ptr<nn::UnaryModule> base_layer,
    const std::string& adapter,
    const BOFTConfig& config,
    bool is_target_conv_1d_layer_)
    : BOFTLayer(std::move(base_layer), adapter) {
  fan_in_fan_out = config.fan_in_fan_out;
  update_layer(adapter, config);
  is_target_conv_1d_layer = is_target_conv_1d_layer_;
}

Tensor Linear::forward(const Tensor& x) {
  const DType prev = x.dtype();
  auto in_dtype = [&](const Tensor& t) { return t.dtype() == prev ? t : t.to(prev); };
  if (disable_adapters_) {
    if (merged())
      unmerge();
    return in_dtype(base_layer_->forward(x));
  }
  if (merged())
    return in_dtype(base_layer_->forward(x));
  const Tensor scale = active_scale(prev);
  if (!scale.defined())
    return in_dtype(base_layer_->forward(x));
  // x (M_k ... M_1): the last active adapter's rotation acts first
  Tensor h = x.reshape({-1, in_features});
  for (auto it = active_adapters_.rbegin(); it != active_adapters_.rend(); ++it) {
    if (boft_R_->contains(*it))
      h = rotate(h, *it, false, is_training());
  }
  Shape shape = x.shape();
  Tensor result = base_layer_->forward(h.reshape(shape));
  const Tensor bias = base_bias();
  const Tensor s = scale.squeeze(-1);
  if (bias.defined()) {
    result = (result - bias) * s + bias;
  } else {
    result = result * s;
  }
  return in_dtype(result);
}

}  // namespace peftcpp::boft
