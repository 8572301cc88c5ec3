// adalora.SVDLinear: AdaLoRA on nn::Linear and transformers' Conv1D (port of SVDLinear in
// peft/tuners/adalora/layer.py @5d602fd).
#include "nn/layers/linear.h"
#include "peft/tuners/adalora/layer.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::adalora {

SVDLinear::SVDLinear(
    std::shared_ptr<nn::UnaryModule> base_layer,
    const std::string& adapter,
    const AdaLoraConfig& config,
    int rank,
    double alpha)
    : AdaLoraLayer(std::move(base_layer), adapter) {
  nn::ModulePtr base = get_base_layer();
  if (auto* l = dynamic_cast<nn::Linear*>(base.get())) {
    in_features = l->in_features;
    out_features = l->out_features;
  } else if (auto* c = dynamic_cast<nn::Conv1D*>(base.get())) {
    in_features = c->nx;
    out_features = c->nf;
  } else {
    throw ValueError(detail::concat("[adalora] SVDLinear cannot wrap a ", base->type_name()));
  }
  base_weight().requires_grad_(false);
  fan_in_fan_out = config.fan_in_fan_out;
  update_layer(adapter, rank, alpha, config);
}

Tensor SVDLinear::get_delta_weight(const std::string& adapter) const {
  const Tensor& a = lora_A_->at(adapter);
  const Tensor& e = lora_E_->at(adapter);
  const Tensor& b = lora_B_->at(adapter);
  Tensor prod = matmul(b, a * e);
  if (fan_in_fan_out)
    prod = prod.t();
  return prod * scaling.at(adapter) / (ranknum_->at(adapter) + 1e-5);
}

Tensor SVDLinear::adapter_output(const std::string& adapter, const Tensor& x) {
  const Tensor& a = lora_A_->at(adapter);
  const Tensor& e = lora_E_->at(adapter);
  const Tensor& b = lora_B_->at(adapter);
  const Tensor h = matmul(matmul(apply_dropout(adapter, x), (a * e).t()), b.t());
  return h * scaling.at(adapter) / (ranknum_->at(adapter) + 1e-5);
}

}  // namespace peftcpp::adalora
