// LayerNorm, RMSNorm.
#include "nn/layers/norm.h"

#include "nn/detail/format.h"
#include "nn/functional.h"

namespace peftcpp::nn {
namespace {

Tensor make(const Shape& shape, double value, const FactoryOptions& opts) {
  return full(shape, value, opts.dtype, opts.device);
}

}  // namespace

LayerNorm::LayerNorm(
    Shape shape, double eps_, bool affine, bool with_bias, const FactoryOptions& opts)
    : normalized_shape(std::move(shape)), eps(eps_), elementwise_affine(affine) {
  PEFTCPP_CHECK(!normalized_shape.empty(), "[LayerNorm] normalized_shape must not be empty");
  if (affine) {
    weight = make(normalized_shape, 1.0, opts);
    if (with_bias)
      bias = make(normalized_shape, 0.0, opts);
  }
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
}

std::string LayerNorm::extra_repr() const {
  return detail::py_tuple(normalized_shape) + ", eps=" + detail::py_float(eps) +
         ", elementwise_affine=" + detail::py_bool(elementwise_affine);
}

Tensor LayerNorm::forward(const Tensor& x) {
  return functional::layer_norm(x, normalized_shape, weight, bias, eps);
}

RMSNorm::RMSNorm(std::int64_t hidden, double eps_, const FactoryOptions& opts)
    : hidden_size(hidden), eps(eps_) {
  weight = make({hidden}, 1.0, opts);
  register_parameter("weight", &weight);
}

std::string RMSNorm::extra_repr() const {
  return detail::py_tuple({hidden_size}) + ", eps=" + detail::py_float(eps);
}

Tensor RMSNorm::forward(const Tensor& x) {
  return functional::rms_norm(x, weight, eps);
}

}  // namespace peftcpp::nn
