// AdaLoraLayer: what SVDLinear and SVDConv2d share (port of AdaLoraLayer and the merge /
// unmerge / forward methods of SVDLinear and SVDConv2d in peft/tuners/adalora/layer.py
// @5d602fd).
#include "peft/tuners/adalora/layer.h"

#include <set>

#include "autograd/grad_mode.h"
#include "nn/layers/activation.h"
#include "nn/layers/linear.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::adalora {
namespace {

// PEFT creates the adapter tensors in float32 and moves them to the base dtype; 16-bit ones are
// upcast again (autocast_adapter_dtype), so they are float64 on float64 bases, float32 otherwise.
DType adapter_dtype(const Tensor& base_weight) {
  return base_weight.dtype() == kFloat64 ? kFloat64 : kFloat32;
}

// Python truthiness of init_lora_weights (True or a non-empty string).
bool init_is_truthy(const InitWeights& init) {
  return init.is_bool() ? init.as_bool() : !init.name().empty();
}

}  // namespace

AdaLoraLayer::AdaLoraLayer(std::shared_ptr<nn::UnaryModule> base_layer, const std::string& adapter)
    : BaseTunerLayer(std::move(base_layer)),
      lora_dropout_(std::make_shared<nn::ModuleDict>()),
      lora_A_(std::make_shared<AdapterParameterDict>()),
      lora_B_(std::make_shared<AdapterParameterDict>()),
      lora_E_(std::make_shared<AdapterParameterDict>()),
      ranknum_(std::make_shared<AdapterParameterDict>()) {
  register_module("lora_dropout", lora_dropout_);
  register_module("lora_A", lora_A_);
  register_module("lora_B", lora_B_);
  register_module("lora_E", lora_E_);
  register_module("ranknum", ranknum_);
  // ranknum is not an adapter layer: it is never trainable (PEFT's other_param_names)
  adapter_layer_names_ = {"lora_A", "lora_B", "lora_E"};
  active_adapters_ = {adapter};
}

void AdaLoraLayer::update_layer(
    const std::string& adapter, int rank, double alpha, const AdaLoraConfig& config) {
  PEFTCPP_CHECK(
      rank >= 0, "[adalora] `r` should be a positive integer or 0, but the value passed is ", rank);
  r[adapter] = rank;
  lora_alpha[adapter] = alpha;
  if (config.lora_dropout > 0.0) {
    lora_dropout_->insert(adapter, std::make_shared<nn::Dropout>(config.lora_dropout));
  } else {
    lora_dropout_->insert(adapter, std::make_shared<nn::Identity>());
  }
  const DType dt = adapter_dtype(base_weight());
  const std::int64_t rk = rank;
  lora_A_->insert(adapter, randn({rk, a_columns()}, dt));
  lora_E_->insert(adapter, randn({rk, 1}, dt));
  lora_B_->insert(adapter, randn({out_features, rk}, dt));
  ranknum_->insert(adapter, full({1}, static_cast<double>(rank), dt), false);
  scaling[adapter] = alpha > 0 ? alpha : static_cast<double>(rank);
  if (init_is_truthy(config.init_lora_weights))
    reset_lora_parameters(adapter);
  set_adapter(active_adapters_, config.inference_mode);
}

void AdaLoraLayer::reset_lora_parameters(const std::string& adapter) {
  if (!lora_A_->contains(adapter))
    return;
  NoGradGuard g;
  lora_E_->at(adapter).zero_();
  normal_(lora_A_->at(adapter), 0.0, 0.02);
  normal_(lora_B_->at(adapter), 0.0, 0.02);
}

bool AdaLoraLayer::has_adapter(const std::string& adapter) const {
  return lora_A_->contains(adapter);
}

std::vector<std::string> AdaLoraLayer::all_adapter_names() const {
  std::set<std::string> s;
  for (const std::string& a : BaseTunerLayer::all_adapter_names()) s.insert(a);
  for (const auto& [k, v] : r) s.insert(k);
  return {s.begin(), s.end()};
}

void AdaLoraLayer::erase_adapter_settings(const std::string& name) {
  r.erase(name);
  lora_alpha.erase(name);
  scaling.erase(name);
}

Tensor AdaLoraLayer::scaled_product(const std::string& adapter) const {
  const Tensor& a = lora_A_->at(adapter);
  const Tensor& e = lora_E_->at(adapter);
  const Tensor& b = lora_B_->at(adapter);
  return matmul(b, a * e) * scaling.at(adapter) / (ranknum_->at(adapter) + 1e-5);
}

Tensor AdaLoraLayer::apply_dropout(const std::string& adapter, const Tensor& x) const {
  return lora_dropout_->at_as<nn::UnaryModule>(adapter)->forward(x);
}

void AdaLoraLayer::merge_adapter(const std::string& adapter, bool safe_merge) {
  NoGradGuard no_grad;
  Tensor& weight = base_weight();
  const Tensor delta = get_delta_weight(adapter).to(weight.dtype());
  const Tensor merged = weight.detach() + delta;
  if (safe_merge)
    check_finite_merge(merged, adapter);
  nn::set_data(weight, merged.contiguous());
}

void AdaLoraLayer::unmerge_adapter(const std::string& adapter) {
  NoGradGuard no_grad;
  Tensor& weight = base_weight();
  const Tensor delta = get_delta_weight(adapter).to(weight.dtype());
  nn::set_data(weight, (weight.detach() - delta).contiguous());
}

Tensor AdaLoraLayer::forward(const Tensor& x) {
  PEFTCPP_CHECK(
      forward_adapter_names_ == nullptr,
      "[adalora] ",
      type_name(),
      " does not support per-sample `adapter_names` (mixed adapter batches)");
  if (disable_adapters_) {
    if (merged())
      unmerge();
    return base_layer_->forward(x);
  }
  if (merged())
    return base_layer_->forward(x);
  Tensor result = base_layer_->forward(x);
  Tensor xa = x;
  for (const std::string& a : active_adapters_) {
    if (!lora_A_->contains(a))
      continue;
    const DType dt = lora_A_->at(a).dtype();
    if (is_floating_point(xa.dtype()) && xa.dtype() != dt)
      xa = xa.to(dt);
    // PEFT adds in place (`result += ...`), so the result keeps the base output's dtype
    result = result + adapter_output(a, xa).to(result.dtype());
  }
  return result;
}

}  // namespace peftcpp::adalora
