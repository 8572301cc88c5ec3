// lora.Linear: LoRA on nn::Linear and on transformers' Conv1D (port of Linear and the Linear /
// Conv1D branches of dispatch_default in peft/tuners/lora/layer.py @5d602fd).
#include "nn/layers/linear.h"
#include "peft/tuners/lora/layer.h"
#include "peft/tuners/lora/variants/variants.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::lora {
namespace {

// Adapter tensors follow the base dtype for float32 / float64 bases and are float32 otherwise
// (PEFT moves them to the base dtype, then autocast_adapter_dtype upcasts 16-bit ones).
DType adapter_dtype(const Tensor& base_weight) {
  const DType d = base_weight.dtype();
  return d == kFloat64 ? kFloat64 : kFloat32;
}

}  // namespace

Linear::Linear(
    std::shared_ptr<nn::UnaryModule> base_layer,
    const std::string& adapter,
    const LoraConfig& config,
    int rank,
    double alpha,
    const std::string& target_name,
    bool is_conv1d)
    : LoraLayer(std::move(base_layer), adapter), is_target_conv_1d_layer(is_conv1d) {
  nn::ModulePtr base = get_base_layer();
  if (auto* l = dynamic_cast<nn::Linear*>(base.get())) {
    in_features = l->in_features;
    out_features = l->out_features;
  } else if (auto* c = dynamic_cast<nn::Conv1D*>(base.get())) {
    in_features = c->nx;
    out_features = c->nf;
  } else {
    throw ValueError(detail::concat("[lora] lora.Linear cannot wrap a ", base->type_name()));
  }
  fan_in_fan_out = config.fan_in_fan_out;
  update_layer(adapter, rank, alpha, config, target_name);
}

void Linear::create_adapter_modules(const std::string& adapter, int rank, bool bias) {
  auto a = std::make_shared<nn::Linear>(in_features, rank, false);
  auto b = std::make_shared<nn::Linear>(rank, out_features, bias);
  const DType dt = adapter_dtype(base_weight());
  a->to(dt);
  b->to(dt);
  lora_A_->insert(adapter, a);
  lora_B_->insert(adapter, b);
}

std::shared_ptr<LoraVariant> Linear::resolve_variant(const LoraConfig& config) const {
  return resolve_linear_variant(config);
}

Tensor Linear::lora_update(const std::string& adapter, const Tensor& x) {
  const Tensor ax = A(adapter)->forward(dropout(adapter)->forward(x));
  // B (A x) s = B (s A x) without a bias on B: scaling the [tokens, r] side instead of the
  // [tokens, out] one saves a pass over the output, forward and backward.
  if (auto it = lora_bias.find(adapter); it == lora_bias.end() || !it->second)
    return B(adapter)->forward(ax * scaling.at(adapter));
  return B(adapter)->forward(ax) * scaling.at(adapter);
}

Tensor Linear::get_delta_weight(const std::string& adapter) const {
  Tensor wa = A_weight(adapter);
  Tensor wb = B_weight(adapter);
  const DType dt = wb.dtype();
  const bool upcast = dt == kFloat16 || dt == kBFloat16;
  if (upcast) {
    wa = wa.to(kFloat32);
    wb = wb.to(kFloat32);
  }
  Tensor out = transpose_if(matmul(wb, wa), fan_in_fan_out) * scaling.at(adapter);
  return upcast ? out.to(dt) : out;
}

Tensor Linear::forward(const Tensor& x) {
  // One active vanilla adapter on an nn::Linear or Conv1D (the training case) goes through lora_linear:
  // the base and adapter GEMMs accumulate into one output, forward and backward (no [tokens, out]
  // adapter activation, no extra add). Everything else takes the general path.
  // transformers' Conv1D (GPT-2, fan_in_fan_out) stores the weight [in, out]: its transposed view
  // is the [out, in] weight, which the GEMMs read through a transpose flag.
  if (forward_adapter_names_ == nullptr && !disable_adapters_ && !merged() && active_adapters_.size() == 1) {
    const std::string& a = active_adapters_.front();
    Tensor weight, bias;
    if (const auto* lin = dynamic_cast<const nn::Linear*>(base_layer_.get()); lin != nullptr && !fan_in_fan_out) {
      weight = lin->weight;
      bias = lin->bias;
    } else if (const auto* conv = dynamic_cast<const nn::Conv1D*>(base_layer_.get()); conv != nullptr && fan_in_fan_out) {
      weight = conv->weight.t();
      bias = conv->bias;
    }
    const auto* la = lora_A_->contains(a) ? dynamic_cast<const nn::Linear*>(lora_A_->at(a).get()) : nullptr;
    const auto* lb = lora_B_->contains(a) ? dynamic_cast<const nn::Linear*>(lora_B_->at(a).get()) : nullptr;
    const bool vanilla = !lora_variant.count(a) && !(lora_bias.count(a) && lora_bias.at(a));
    if (weight.defined() && la != nullptr && lb != nullptr && vanilla && !la->bias.defined() && !lb->bias.defined() &&
        x.dtype() == weight.dtype() && x.dtype() == la->weight.dtype() && x.dtype() == lb->weight.dtype()) {
      return lora_linear(x, weight, bias, dropout(a)->forward(x), la->weight, lb->weight, scaling.at(a));
    }
  }
  return lora_forward(x);
}

}  // namespace peftcpp::lora
