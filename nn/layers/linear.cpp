// Linear, Conv1D.
#include "nn/layers/linear.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "nn/detail/format.h"
#include "nn/functional.h"

namespace peftcpp::nn {
namespace {

Tensor finish_init(Tensor t, const FactoryOptions& opts) {
  if (t.dtype() != opts.dtype)
    t = t.to(opts.dtype);
  if (!(t.device() == opts.device))
    t = t.to(opts.device);
  return t;
}

}  // namespace

Linear::Linear(std::int64_t in, std::int64_t out, bool with_bias, const FactoryOptions& opts)
    : in_features(in), out_features(out) {
  PEFTCPP_CHECK(
      in >= 0 && out >= 0,
      "[Linear] feature counts must be non-negative, got in=",
      in,
      ", out=",
      out);
  weight = empty({out, in}, kFloat32, kCPU);
  if (with_bias)
    bias = empty({out}, kFloat32, kCPU);
  reset_parameters(opts.generator);
  weight = finish_init(weight, opts);
  if (with_bias)
    bias = finish_init(bias, opts);
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
}

void Linear::reset_parameters(Generator* gen) {
  NoGradGuard ng;
  if (in_features == 0 || out_features == 0) {
    weight.detach().zero_();
    if (bias.defined())
      bias.detach().zero_();
    return;
  }
  Tensor w = weight.detach();
  kaiming_uniform_(w, std::sqrt(5.0), "fan_in", "leaky_relu", gen);
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    Tensor b = bias.detach();
    uniform_(b, -bound, bound, gen);
  }
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_features) +
         ", out_features=" + std::to_string(out_features) +
         ", bias=" + detail::py_bool(bias.defined());
}

Tensor Linear::forward(const Tensor& x) {
  return functional::linear(x, weight, bias);
}

Conv1D::Conv1D(std::int64_t nf_, std::int64_t nx_, const FactoryOptions& opts) : nf(nf_), nx(nx_) {
  PEFTCPP_CHECK(
      nf >= 0 && nx >= 0, "[Conv1D] sizes must be non-negative, got nf=", nf, ", nx=", nx);
  weight = empty({nx, nf}, kFloat32, kCPU);
  normal_(weight, 0.0, 0.02, opts.generator);
  bias = zeros({nf}, kFloat32, kCPU);
  weight = finish_init(weight, opts);
  bias = finish_init(bias, opts);
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
}

std::string Conv1D::extra_repr() const {
  return "nf=" + std::to_string(nf) + ", nx=" + std::to_string(nx);
}

Tensor Conv1D::forward(const Tensor& x) {
  PEFTCPP_CHECK_SHAPE(
      x.defined() && x.dim() >= 1 && x.size(-1) == weight.size(0),
      "[Conv1D] input ",
      x.defined() ? shape_str(x.shape()) : std::string("undefined"),
      " does not match weight ",
      shape_str(weight.shape()),
      " (expected last dim ",
      weight.size(0),
      ")");
  Tensor y = matmul(x, weight);
  return bias.defined() ? add(y, bias) : y;
}

}  // namespace peftcpp::nn
