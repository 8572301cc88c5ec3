// torch.nn.Conv1d and torch.nn.Conv2d (padding_mode "zeros"), im2col + GEMM underneath.
#pragma once

#include <vector>

#include "nn/functional.h"
#include "nn/module.h"
#include "nn/options.h"

namespace peftcpp::nn {

struct Conv2dOptions {
  std::vector<std::int64_t> stride = {1};  // one value or {h, w}
  functional::ConvPadding padding = 0;     // sizes, "same" or "valid"
  std::vector<std::int64_t> dilation = {1};
  std::int64_t groups = 1;
  bool bias = true;
  std::string padding_mode = "zeros";  // the only mode supported
};

struct Conv1dOptions {
  std::int64_t stride = 1;
  functional::ConvPadding padding = 0;
  std::int64_t dilation = 1;
  std::int64_t groups = 1;
  bool bias = true;
  std::string padding_mode = "zeros";
};

/// weight [out, in / groups, KH, KW], bias [out]; PyTorch's default initialisation
/// (kaiming_uniform_(a = sqrt(5)), bias U(+-1/sqrt(fan_in))).
class Conv2d : public UnaryModule {
 public:
  Conv2d(
      std::int64_t in_channels,
      std::int64_t out_channels,
      std::vector<std::int64_t> kernel_size,
      const Conv2dOptions& options = {},
      const FactoryOptions& opts = {});
  std::string type_name() const override {
    return "Conv2d";
  }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& x) override;

  std::int64_t in_channels, out_channels;
  std::vector<std::int64_t> kernel_size;  // {KH, KW}
  Conv2dOptions options;
  Tensor weight;
  Tensor bias;
};

/// weight [out, in / groups, K], bias [out].
class Conv1d : public UnaryModule {
 public:
  Conv1d(
      std::int64_t in_channels,
      std::int64_t out_channels,
      std::int64_t kernel_size,
      const Conv1dOptions& options = {},
      const FactoryOptions& opts = {});
  std::string type_name() const override {
    return "Conv1d";
  }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& x) override;

  std::int64_t in_channels, out_channels, kernel_size;
  Conv1dOptions options;
  Tensor weight;
  Tensor bias;
};

}  // namespace peftcpp::nn
