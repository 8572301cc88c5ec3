// oft.Linear and oft.Conv2d (port of Linear and Conv2d in peft/tuners/oft/layer.py @5d602fd):
// the input is rotated, then the base layer runs.
#include "nn/layers/conv.h"
#include "nn/layers/linear.h"
#include "peft/tuners/oft/layer.h"
#include "tensor/error.h"

namespace peftcpp::oft {

Linear::Linear(
    std::shared_ptr<nn::UnaryModule> base_layer,
    const std::string& adapter,
    const OFTConfig& config,
    std::int64_t rank,
    bool fan_in_fan_out_,
    bool is_target_conv_1d_layer_)
    : OFTLayer(std::move(base_layer), adapter) {
  fan_in_fan_out = fan_in_fan_out_;
  update_layer(adapter, rank, config);
  is_target_conv_1d_layer = is_target_conv_1d_layer_;
}

Tensor Linear::forward(const Tensor& x) {
  return rotate_input_forward(x);
}

Conv2d::Conv2d(
    std::shared_ptr<nn::UnaryModule> base_layer,
    const std::string& adapter,
    const OFTConfig& config,
    std::int64_t rank,
    bool fan_in_fan_out_)
    : OFTLayer(std::move(base_layer), adapter) {
  fan_in_fan_out = fan_in_fan_out_;
  update_layer(adapter, rank, config);
}

std::int64_t Conv2d::groups() const {
  return dynamic_cast<nn::Conv2d&>(*get_base_layer()).options.groups;
}

void Conv2d::update_layer(const std::string& adapter, std::int64_t rank, const OFTConfig& config) {
  auto& base = dynamic_cast<nn::Conv2d&>(*get_base_layer());
  PEFTCPP_CHECK(
      base.options.dilation.empty() || base.options.dilation[0] <= 1,
      "[oft] Conv2d with dilation > 1 is not supported by OFT.");
  // PEFT sizes the rotation with kernel_size[0]^2 but unfolds kh x kw patches: only square
  // kernels are consistent.
  PEFTCPP_CHECK(
      base.kernel_size.size() == 2 && base.kernel_size[0] == base.kernel_size[1],
      "[oft] OFT supports square Conv2d kernels only, got (",
      base.kernel_size[0],
      ", ",
      base.kernel_size.size() > 1 ? base.kernel_size[1] : base.kernel_size[0],
      ")");
  if (config.module_dropout > 0.0) {
    oft_dropout_->insert(
        adapter, std::make_shared<MultiplicativeDropoutLayer>(config.module_dropout));
  } else {
    oft_dropout_->insert(adapter, std::make_shared<nn::Identity>());
  }
  const std::int64_t k = base.kernel_size[0];
  create_rotation(*oft_R_, adapter, rank, config, in_features * k * k, base.kernel_size);
  set_adapter(active_adapters_);
}

void Conv2d::merge_adapter(const std::string& adapter, bool safe_merge) {
  PEFTCPP_CHECK(
      groups() == 1,
      "[oft] merging is not supported for Conv2d layers with groups > 1 (",
      groups(),
      ")");
  OFTLayer::merge_adapter(adapter, safe_merge);
}

void Conv2d::unmerge_adapter(const std::string& adapter) {
  PEFTCPP_CHECK(
      groups() == 1, "[oft] unmerging is not supported for Conv2d layers with groups > 1");
  OFTLayer::unmerge_adapter(adapter);
}

Tensor Conv2d::forward(const Tensor& x) {
  return rotate_input_forward(x);
}

}  // namespace peftcpp::oft
