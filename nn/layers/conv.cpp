// Conv1d, Conv2d modules.
#include "nn/layers/conv.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "nn/detail/format.h"

namespace peftcpp::nn {
namespace {

// PyTorch's _ConvNd.reset_parameters on float32 CPU tensors, then dtype/device.
void init_conv(Tensor& weight, Tensor& bias, const FactoryOptions& opts) {
  NoGradGuard ng;
  std::int64_t fan_in = 1;
  for (std::int64_t d = 1; d < weight.dim(); ++d) fan_in *= weight.size(d);
  if (weight.numel() > 0)
    kaiming_uniform_(weight, std::sqrt(5.0), "fan_in", "leaky_relu", opts.generator);
  if (bias.defined() && fan_in > 0) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    uniform_(bias, -bound, bound, opts.generator);
  }
  for (Tensor* t : {&weight, &bias}) {
    if (!t->defined())
      continue;
    if (t->dtype() != opts.dtype)
      *t = t->to(opts.dtype);
    if (!(t->device() == opts.device))
      *t = t->to(opts.device);
  }
}

std::vector<std::int64_t> two(const std::vector<std::int64_t>& v) {
  return v.size() == 1 ? std::vector<std::int64_t>{v[0], v[0]} : v;
}

std::string padding_repr(const functional::ConvPadding& p, std::size_t nd) {
  if (p.mode != "explicit")
    return ", padding='" + p.mode + "'";
  std::vector<std::int64_t> s =
      p.sizes.size() == 1 ? std::vector<std::int64_t>(nd, p.sizes[0]) : p.sizes;
  bool zero = true;
  for (std::int64_t v : s) zero = zero && v == 0;
  return zero ? "" : ", padding=" + detail::py_tuple(s);
}

void check_common(
    std::int64_t in,
    std::int64_t out,
    std::int64_t groups,
    const std::string& mode,
    const char* op) {
  PEFTCPP_CHECK(
      in > 0 && out > 0, "[", op, "] channel counts must be positive, got in=", in, ", out=", out);
  PEFTCPP_CHECK(
      groups >= 1 && in % groups == 0 && out % groups == 0,
      "[",
      op,
      "] in_channels (",
      in,
      ") and out_channels (",
      out,
      ") must be divisible by groups (",
      groups,
      ")");
  PEFTCPP_CHECK(
      mode == "zeros", "[", op, "] padding_mode '", mode, "' is not supported (only 'zeros')");
}

}  // namespace

Conv2d::Conv2d(
    std::int64_t in,
    std::int64_t out,
    std::vector<std::int64_t> kernel,
    const Conv2dOptions& o,
    const FactoryOptions& opts)
    : in_channels(in), out_channels(out), kernel_size(two(kernel)), options(o) {
  check_common(in, out, o.groups, o.padding_mode, "Conv2d");
  PEFTCPP_CHECK(
      kernel_size.size() == 2 && kernel_size[0] > 0 && kernel_size[1] > 0,
      "[Conv2d] kernel_size needs 1 or 2 positive values");
  weight = empty({out, in / o.groups, kernel_size[0], kernel_size[1]});
  if (o.bias)
    bias = empty({out});
  init_conv(weight, bias, opts);
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
}

std::string Conv2d::extra_repr() const {
  std::string s = std::to_string(in_channels) + ", " + std::to_string(out_channels) +
                  ", kernel_size=" + detail::py_tuple(kernel_size) +
                  ", stride=" + detail::py_tuple(two(options.stride));
  s += padding_repr(options.padding, 2);
  if (two(options.dilation) != std::vector<std::int64_t>{1, 1})
    s += ", dilation=" + detail::py_tuple(two(options.dilation));
  if (options.groups != 1)
    s += ", groups=" + std::to_string(options.groups);
  if (!bias.defined())
    s += ", bias=False";
  return s;
}

Tensor Conv2d::forward(const Tensor& x) {
  return functional::conv2d(
      x, weight, bias, options.stride, options.padding, options.dilation, options.groups);
}

Conv1d::Conv1d(
    std::int64_t in,
    std::int64_t out,
    std::int64_t kernel,
    const Conv1dOptions& o,
    const FactoryOptions& opts)
    : in_channels(in), out_channels(out), kernel_size(kernel), options(o) {
  check_common(in, out, o.groups, o.padding_mode, "Conv1d");
  PEFTCPP_CHECK(kernel > 0, "[Conv1d] kernel_size must be positive, got ", kernel);
  weight = empty({out, in / o.groups, kernel});
  if (o.bias)
    bias = empty({out});
  init_conv(weight, bias, opts);
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
}

std::string Conv1d::extra_repr() const {
  std::string s = std::to_string(in_channels) + ", " + std::to_string(out_channels) +
                  ", kernel_size=" + detail::py_tuple({kernel_size}) +
                  ", stride=" + detail::py_tuple({options.stride});
  s += padding_repr(options.padding, 1);
  if (options.dilation != 1)
    s += ", dilation=" + detail::py_tuple({options.dilation});
  if (options.groups != 1)
    s += ", groups=" + std::to_string(options.groups);
  if (!bias.defined())
    s += ", bias=False";
  return s;
}

Tensor Conv1d::forward(const Tensor& x) {
  return functional::conv1d(
      x, weight, bias, options.stride, options.padding, options.dilation, options.groups);
}

}  // namespace peftcpp::nn
