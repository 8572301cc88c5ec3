// LoraLayer: what all LoRA layer types share (port of LoraLayer in peft/tuners/lora/layer.py
// @5d602fd): update_layer, scaling, merge through the delta weight or the variant, the forward
// loop over active adapters and mixed-adapter batches.
#include "peft/tuners/lora/layer.h"

#include <cctype>
#include <cmath>
#include <iostream>
#include <set>

#include "autograd/grad_mode.h"
#include "nn/layers/activation.h"
#include "nn/layers/linear.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::lora {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Tensor transpose_if(const Tensor& weight, bool fan_in_fan_out) {
  return fan_in_fan_out ? weight.t() : weight;
}

LoraLayer::LoraLayer(std::shared_ptr<nn::UnaryModule> base_layer, const std::string& adapter)
    : BaseTunerLayer(std::move(base_layer)),
      lora_dropout_(std::make_shared<nn::ModuleDict>()),
      lora_A_(std::make_shared<nn::ModuleDict>()),
      lora_B_(std::make_shared<nn::ModuleDict>()),
      lora_embedding_A_(std::make_shared<AdapterParameterDict>()),
      lora_embedding_B_(std::make_shared<AdapterParameterDict>()),
      lora_magnitude_vector_(std::make_shared<nn::ModuleDict>()) {
  register_module("lora_dropout", lora_dropout_);
  register_module("lora_A", lora_A_);
  register_module("lora_B", lora_B_);
  register_module("lora_embedding_A", lora_embedding_A_);
  register_module("lora_embedding_B", lora_embedding_B_);
  register_module("lora_magnitude_vector", lora_magnitude_vector_);
  adapter_layer_names_ = {
      "lora_A", "lora_B", "lora_embedding_A", "lora_embedding_B", "lora_magnitude_vector"};
  active_adapters_ = {adapter};
}

std::shared_ptr<nn::UnaryModule> LoraLayer::A(const std::string& adapter) const {
  return lora_A_->at_as<nn::UnaryModule>(adapter);
}
std::shared_ptr<nn::UnaryModule> LoraLayer::B(const std::string& adapter) const {
  return lora_B_->at_as<nn::UnaryModule>(adapter);
}
std::shared_ptr<nn::UnaryModule> LoraLayer::dropout(const std::string& adapter) const {
  return lora_dropout_->at_as<nn::UnaryModule>(adapter);
}
Tensor& LoraLayer::A_weight(const std::string& adapter) const {
  return lora_A_->at(adapter)->get_parameter("weight");
}
Tensor& LoraLayer::B_weight(const std::string& adapter) const {
  return lora_B_->at(adapter)->get_parameter("weight");
}

bool LoraLayer::has_adapter(const std::string& adapter) const {
  return lora_A_->contains(adapter);
}

std::shared_ptr<LoraVariant> LoraLayer::resolve_variant(const LoraConfig& /*config*/) const {
  return nullptr;
}

void LoraLayer::update_layer(
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
  if (config.lora_bias && !base_bias().defined()) {
    std::cerr << "[lora] warning: lora_bias=True was passed but the targeted layer of type "
              << get_base_layer()->type_name()
              << " has no bias. This means that merging LoRA weights won't be possible.\n";
  }
  std::shared_ptr<LoraVariant> variant = resolve_variant(config);
  if (variant) {
    lora_variant[adapter] = variant;
  } else {
    lora_variant.erase(adapter);
  }
  r[adapter] = rank;
  lora_alpha[adapter] = alpha;
  if (config.lora_dropout > 0.0) {
    lora_dropout_->insert(adapter, std::make_shared<nn::Dropout>(config.lora_dropout));
  } else {
    lora_dropout_->insert(adapter, std::make_shared<nn::Identity>());
  }
  create_adapter_modules(adapter, rank, config.lora_bias);
  lora_bias[adapter] = config.lora_bias;
  scaling[adapter] =
      config.use_rslora ? alpha / std::sqrt(static_cast<double>(rank)) : alpha / rank;
  use_rslora[adapter] = config.use_rslora;
  use_dora[adapter] = config.use_dora;

  const InitWeights& init = config.init_lora_weights;
  const std::string name = init.is_string() ? init.name() : std::string();
  if (init.is_string() && name.starts_with("pissa")) {
    pissa_init(adapter, name);
  } else if (init.is_string() && name.starts_with("corda")) {
    throw ValueError(
        "[lora] init_lora_weights='corda' needs preprocess_corda's covariance "
        "data, which peftcpp does not implement");
  } else if (init.is_string() && lower(name) == "olora") {
    olora_init(adapter);
  } else if (init.is_string() && lower(name) == "mica") {
    mica_init(adapter);
  } else if (init == "loftq") {
    throw ValueError("[lora] init_lora_weights='loftq' is not implemented in peftcpp");
  } else if (init == "eva") {
    NoGradGuard g;
    B_weight(adapter).zero_();
  } else if (init == "orthogonal") {
    orthogonal_init(adapter);
  } else if (init == "lora_ga") {
    // without preprocess_loraga's gradients PEFT falls back to the default init
    reset_lora_parameters(adapter, true);
  } else if (!(init == false)) {
    reset_lora_parameters(adapter, init);
  }
  if (variant)
    variant->init(*this, adapter, config, target_name);
  set_adapter(active_adapters_, config.inference_mode);
}

void LoraLayer::set_scale(const std::string& adapter, double scale) {
  if (!scaling.count(adapter))
    return;
  scaling[adapter] = scale * initial_scaling(adapter);
}

double LoraLayer::initial_scaling(const std::string& adapter) const {
  const double a = lora_alpha.at(adapter);
  const int rk = r.at(adapter);
  return use_rslora.count(adapter) && use_rslora.at(adapter)
             ? a / std::sqrt(static_cast<double>(rk))
             : a / rk;
}

void LoraLayer::scale_layer(double scale) {
  if (scale == 1.0)
    return;
  for (const std::string& a : active_adapters_) {
    if (has_adapter(a))
      scaling[a] *= scale;
  }
}

void LoraLayer::unscale_layer(std::optional<double> scale) {
  for (const std::string& a : active_adapters_) {
    if (!has_adapter(a))
      continue;
    scaling[a] = scale ? scaling[a] / *scale : initial_scaling(a);
  }
}

std::vector<std::string> LoraLayer::all_adapter_names() const {
  std::set<std::string> s;
  for (const std::string& a : BaseTunerLayer::all_adapter_names()) s.insert(a);
  for (const auto& [k, v] : r) s.insert(k);
  return {s.begin(), s.end()};
}

void LoraLayer::erase_adapter_settings(const std::string& name) {
  r.erase(name);
  lora_alpha.erase(name);
  scaling.erase(name);
  use_rslora.erase(name);
  use_dora.erase(name);
  lora_bias.erase(name);
  lora_variant.erase(name);
  if (lora_dropout_->contains(name))
    lora_dropout_->pop(name);
}

void LoraLayer::check_forward_args(const Tensor& x) const {
  if (forward_adapter_names_ == nullptr)
    return;
  const AdapterNames& names = *forward_adapter_names_;
  PEFTCPP_CHECK(
      static_cast<std::int64_t>(names.size()) == x.size(0),
      "[lora] length of `adapter_names` should be the same as the number of inputs, but "
      "got ",
      names.size(),
      " and ",
      x.size(0),
      " respectively");
  PEFTCPP_CHECK(
      !merged(),
      "[lora] cannot pass `adapter_names` when there are merged adapters, "
      "please call `unmerge_adapter` first");
  for (const std::string& a : names) {
    if (a == "__base__")
      continue;
    auto it = use_dora.find(a);
    PEFTCPP_CHECK(
        it == use_dora.end() || !it->second,
        "[lora] cannot pass `adapter_names` when DoRA is enabled");
  }
}

Tensor LoraLayer::mixed_batch_forward(const Tensor& x, const Tensor& base_result) {
  const AdapterNames& names = *forward_adapter_names_;
  Tensor result = base_result;
  std::vector<std::string> unique;
  for (const std::string& n : names) {
    if (std::find(unique.begin(), unique.end(), n) == unique.end())
      unique.push_back(n);
  }
  for (const std::string& a : unique) {
    if (a == "__base__" || !has_adapter(a))
      continue;
    std::vector<std::int64_t> rows;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == a)
        rows.push_back(static_cast<std::int64_t>(i));
    }
    const Tensor idx = tensor<std::int64_t>(rows, {static_cast<std::int64_t>(rows.size())});
    Tensor sub = index_select(x, 0, idx);
    if (lora_A_->contains(a))
      sub = sub.to(A_weight(a).dtype());
    Tensor delta;
    if (auto it = lora_variant.find(a); it != lora_variant.end()) {
      const Tensor sub_result = index_select(result, 0, idx);
      delta = it->second->forward(*this, a, sub, sub_result) - sub_result;
    } else {
      delta = lora_update(a, sub);
    }
    result = index_add(result, 0, idx, delta.to(result.dtype()));
  }
  return result;
}

Tensor LoraLayer::lora_forward(const Tensor& x) {
  check_forward_args(x);
  if (disable_adapters_) {
    if (merged())
      unmerge();
    return base_layer_->forward(x);
  }
  if (forward_adapter_names_ != nullptr)
    return mixed_batch_forward(x, base_layer_->forward(x));
  if (merged())
    return base_layer_->forward(x);
  Tensor result = base_layer_->forward(x);
  const DType result_dtype = result.dtype();
  Tensor xa = x;
  for (const std::string& a : active_adapters_) {
    if (!has_adapter(a))
      continue;
    if (lora_A_->contains(a) && is_floating_point(xa.dtype()))
      xa = xa.to(A_weight(a).dtype());
    if (auto it = lora_variant.find(a); it != lora_variant.end()) {
      result = it->second->forward(*this, a, xa, result);
    } else {
      result = result + lora_update(a, xa);
    }
  }
  return result.dtype() == result_dtype ? result : result.to(result_dtype);
}

void LoraLayer::merge_adapter(const std::string& adapter, bool safe_merge) {
  NoGradGuard no_grad;
  Tensor& weight = base_weight();
  const DType dtype = weight.dtype();
  auto variant = lora_variant.find(adapter);
  const bool bias = lora_bias.count(adapter) && lora_bias.at(adapter);
  Tensor b_bias;
  if (bias) {
    PEFTCPP_CHECK(
        base_bias().defined(),
        "[lora] impossible to merge LoRA with `lora_bias=True` "
        "because the base layer has no bias");
    b_bias = lora_B_->at(adapter)->get_parameter("bias");
  }
  if (safe_merge) {
    Tensor w = weight.detach().clone();
    if (variant == lora_variant.end()) {
      w = w + get_delta_weight(adapter).to(dtype);
    } else {
      w = variant->second->merge_safe(*this, adapter, w);
    }
    check_finite_merge(w, adapter);
    Tensor new_bias;
    if (bias) {
      new_bias = base_bias().detach() + b_bias.detach() * scaling.at(adapter);
      check_finite_merge(new_bias, adapter);
    }
    nn::set_data(weight, w.contiguous());
    if (bias) {
      Tensor bb = base_bias();
      nn::set_data(bb, new_bias.to(dtype));
    }
    return;
  }
  if (variant == lora_variant.end()) {
    nn::set_data(weight, (weight.detach() + get_delta_weight(adapter).to(dtype)).contiguous());
  } else {
    variant->second->merge_unsafe(*this, adapter, weight);
  }
  if (bias) {
    Tensor bb = base_bias();
    nn::set_data(bb, bb.detach() + (b_bias.detach() * scaling.at(adapter)).to(bb.dtype()));
  }
}

void LoraLayer::unmerge_adapter(const std::string& adapter) {
  NoGradGuard no_grad;
  Tensor& weight = base_weight();
  const DType dtype = weight.dtype();
  if (auto variant = lora_variant.find(adapter); variant == lora_variant.end()) {
    nn::set_data(weight, (weight.detach() - get_delta_weight(adapter).to(dtype)).contiguous());
  } else {
    nn::set_data(
        weight, variant->second->unmerge(*this, adapter, weight.detach()).to(dtype).contiguous());
  }
  if (lora_bias.count(adapter) && lora_bias.at(adapter)) {
    Tensor bb = base_bias();
    const Tensor b_bias = lora_B_->at(adapter)->get_parameter("bias");
    nn::set_data(bb, bb.detach() - (b_bias.detach() * scaling.at(adapter)).to(bb.dtype()));
  }
}

void LoraVariant::merge_unsafe(LoraLayer& layer, const std::string& adapter, Tensor& weight) {
  NoGradGuard no_grad;
  nn::set_data(weight, merge_safe(layer, adapter, weight.detach()).to(weight.dtype()).contiguous());
}

}  // namespace peftcpp::lora
