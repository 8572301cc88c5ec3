// lora.ParamWrapper: LoRA on an nn.Parameter (target_parameters). Port of ParamWrapper in
// peft/tuners/lora/layer.py @5d602fd. PEFT swaps the parameter through torch's parametrize
// module for the duration of the forward; here the parameter slot of the base module holds
// W + delta during the base forward and is restored afterwards (also on exceptions).
#include <cmath>

#include "autograd/grad_mode.h"
#include "nn/layers/activation.h"
#include "nn/layers/linear.h"
#include "peft/tuners/lora/layer.h"
#include "peft/tuners/lora/variants/variants.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::lora {
namespace {

// Restores a parameter slot on scope exit.
class SlotSwap {
 public:
  SlotSwap(Tensor& slot, Tensor value) : slot_(slot), saved_(slot) {
    slot_ = std::move(value);
  }
  ~SlotSwap() {
    slot_ = saved_;
  }
  SlotSwap(const SlotSwap&) = delete;
  SlotSwap& operator=(const SlotSwap&) = delete;

 private:
  Tensor& slot_;
  Tensor saved_;
};

}  // namespace

ParamWrapper::ParamWrapper(
    std::shared_ptr<nn::UnaryModule> base_layer,
    const std::string& adapter,
    const std::string& parameter_name,
    const LoraConfig& config,
    int rank,
    double alpha,
    const std::string& target_name)
    : LoraLayer(std::move(base_layer), adapter), parameter_name_(parameter_name) {
  PEFTCPP_CHECK(
      config.lora_dropout == 0.0,
      "[lora] lora.ParamWrapper does not work with "
      "lora_dropout != 0 (",
      target_name,
      ")");
  PEFTCPP_CHECK(
      !config.fan_in_fan_out, "[lora] lora.ParamWrapper does not work with fan_in_fan_out");
  PEFTCPP_CHECK(!config.lora_bias, "[lora] lora.ParamWrapper does not work with lora_bias=True");
  PEFTCPP_CHECK(!config.use_dora, "[lora] lora.ParamWrapper does not work with use_dora=True");
  PEFTCPP_CHECK(
      config.velora_config.is_null(),
      "[lora] lora.ParamWrapper does not work when "
      "`velora_config` is set");
  PEFTCPP_CHECK(
      config.kasa_config.is_null(),
      "[lora] lora.ParamWrapper does not work when "
      "`kasa_config` is set");
  const Tensor& p = param();
  if (p.dim() == 3) {
    num_experts_ = p.size(0);
    in_features = p.size(1);
    out_features = p.size(2);
  } else if (p.dim() == 2) {
    num_experts_ = 1;
    in_features = p.size(1);
    out_features = p.size(0);
  } else {
    throw ValueError(detail::concat(
        "[lora] lora.ParamWrapper was initialized with ",
        p.dim(),
        " dimensional Parameter, but only 2d and 3d are supported"));
  }
  param_ndim_ = p.dim();
  update_layer(adapter, rank, alpha, config, target_name);
}

Tensor& ParamWrapper::param() const {
  Tensor* p = get_base_layer()->find_parameter(parameter_name_);
  PEFTCPP_CHECK(
      p != nullptr && p->defined(),
      "[lora] the base layer (",
      get_base_layer()->type_name(),
      ") has no parameter '",
      parameter_name_,
      "'");
  return *p;
}

void ParamWrapper::update_layer(
    const std::string& adapter,
    int rank,
    double alpha,
    const LoraConfig& config,
    const std::string& target_name) {
  PEFTCPP_CHECK(
      rank > 0,
      "[lora] `r` should be a positive integer value but the value passed is ",
      rank,
      " (",
      target_name,
      ")");
  PEFTCPP_CHECK(
      resolve_linear_variant_name(config).empty(),
      "[lora] lora.ParamWrapper does not "
      "work with LoRA variants like DoRA");
  if (param_ndim_ == 3 && !swapped_in_out_) {
    std::swap(in_features, out_features);
    swapped_in_out_ = true;
  }
  PEFTCPP_CHECK(
      config.lora_dropout == 0.0,
      "[lora] lora.ParamWrapper does not work with "
      "lora_dropout != 0");
  LoraLayer::update_layer(adapter, rank, alpha, config, target_name);
}

void ParamWrapper::create_adapter_modules(const std::string& adapter, int rank, bool bias) {
  const DType dt = param().dtype() == kFloat64 ? kFloat64 : kFloat32;
  auto a = std::make_shared<nn::Linear>(in_features, rank * num_experts_, false);
  auto b = std::make_shared<nn::Linear>(rank * num_experts_, out_features, bias);
  a->to(dt);
  b->to(dt);
  lora_A_->insert(adapter, a);
  lora_B_->insert(adapter, b);
}

Tensor ParamWrapper::get_delta_weight(const std::string& adapter) const {
  const Tensor wa = A_weight(adapter);
  const Tensor wb = B_weight(adapter);
  const double s = scaling.at(adapter);
  Tensor delta;
  if (num_experts_ == 1) {
    delta = matmul(wb, wa) * s;
  } else {
    const Tensor a3 = wa.reshape({num_experts_, -1, wa.size(-1)});                    // [E, r, in]
    const Tensor b3 = wb.reshape({wb.size(0), -1, num_experts_}).permute({2, 0, 1});  // [E, out, r]
    delta = matmul(b3, a3) * s;  // [E, out, in]
    if (!swapped_in_out_)
      delta = delta.transpose(1, 2);
  }
  return delta.to(param().dtype());
}

Tensor ParamWrapper::lora_update(const std::string& /*adapter*/, const Tensor& /*x*/) {
  throw ValueError("[lora] lora.ParamWrapper does not support mixed batch inference");
}

Tensor ParamWrapper::forward(const Tensor& x) {
  PEFTCPP_CHECK(
      forward_adapter_names_ == nullptr,
      "[lora] lora.ParamWrapper does not support "
      "mixed adapter batches yet");
  if (disable_adapters_) {
    if (merged())
      unmerge();
    return base_layer_->forward(x);
  }
  if (merged())
    return base_layer_->forward(x);
  Tensor delta;
  for (const std::string& a : active_adapters_) {
    if (!lora_A_->contains(a))
      continue;
    const Tensor d = get_delta_weight(a);
    delta = delta.defined() ? delta + d : d;
  }
  if (!delta.defined())
    return base_layer_->forward(x);
  Tensor& slot = param();
  const Tensor original = slot;
  SlotSwap swap(slot, original + delta);
  return base_layer_->forward(x);
}

void ParamWrapper::merge_adapter(const std::string& adapter, bool safe_merge) {
  NoGradGuard no_grad;
  Tensor& p = param();
  Tensor w = p.detach() + get_delta_weight(adapter).detach();
  if (safe_merge)
    check_finite_merge(w, adapter);
  nn::set_data(p, w.contiguous());
}

void ParamWrapper::unmerge_adapter(const std::string& adapter) {
  NoGradGuard no_grad;
  Tensor& p = param();
  nn::set_data(p, (p.detach() - get_delta_weight(adapter).detach()).contiguous());
}

nn::ModulePtr ParamWrapper::unload_and_optionally_merge_module(
    bool merge, bool safe_merge, const std::optional<AdapterNames>& adapter_names) {
  if (!merge)
    return get_base_layer();
  this->merge(safe_merge, adapter_names);
  nn::ModulePtr base = base_layer_;
  while (auto* w = dynamic_cast<ParamWrapper*>(base.get())) {
    w->merge(safe_merge, adapter_names);
    base = w->base_layer();
  }
  return base;
}

}  // namespace peftcpp::lora
