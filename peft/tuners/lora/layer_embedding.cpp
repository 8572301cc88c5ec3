// lora.Embedding (port of Embedding in peft/tuners/lora/layer.py @5d602fd).
#include <cctype>
#include <cmath>

#include "nn/functional.h"
#include "nn/layers/activation.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "peft/tuners/lora/layer.h"
#include "peft/tuners/lora/variants/variants.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::lora {

Embedding::Embedding(
    std::shared_ptr<nn::UnaryModule> base_layer,
    const std::string& adapter,
    const LoraConfig& config,
    int rank,
    double alpha,
    const std::string& target_name)
    : LoraLayer(std::move(base_layer), adapter) {
  PEFTCPP_CHECK(
      !config.lora_bias,
      "[lora] lora_bias=True is not supported for lora.Embedding (",
      target_name,
      ")");
  auto* e = dynamic_cast<nn::Embedding*>(get_base_layer().get());
  PEFTCPP_CHECK(
      e != nullptr, "[lora] lora.Embedding cannot wrap a ", get_base_layer()->type_name());
  in_features = e->num_embeddings;
  out_features = e->embedding_dim;
  fan_in_fan_out = config.fan_in_fan_out;
  update_layer(adapter, rank, alpha, config, target_name);
}

bool Embedding::has_adapter(const std::string& adapter) const {
  return lora_embedding_A_->contains(adapter);
}

std::shared_ptr<LoraVariant> Embedding::resolve_variant(const LoraConfig& config) const {
  return resolve_embedding_variant(config);
}

void Embedding::create_adapter_modules(const std::string& adapter, int rank, bool /*bias*/) {
  const DType dt = base_weight().dtype() == kFloat64 ? kFloat64 : kFloat32;
  lora_embedding_A_->insert(adapter, randn({rank, in_features}).to(dt), true);
  lora_embedding_B_->insert(adapter, randn({out_features, rank}).to(dt), true);
}

void Embedding::update_layer(
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
  create_adapter_modules(adapter, rank, false);
  lora_bias[adapter] = false;
  scaling[adapter] =
      config.use_rslora ? alpha / std::sqrt(static_cast<double>(rank)) : alpha / rank;
  use_rslora[adapter] = config.use_rslora;
  use_dora[adapter] = config.use_dora;
  const InitWeights& init = config.init_lora_weights;
  std::string name = init.is_string() ? init.name() : std::string();
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (init.is_string() && name == "mica") {
    mica_init(adapter);
  } else if (init == "loftq") {
    throw ValueError("[lora] init_lora_weights='loftq' is not implemented in peftcpp");
  } else if (init == "lora_ga") {
    reset_lora_parameters(adapter, true);
  } else if (!(init == false)) {
    reset_lora_parameters(adapter, init);
  }
  if (variant)
    variant->init(*this, adapter, config, target_name);
  set_adapter(active_adapters_, config.inference_mode);
}

Tensor Embedding::embed(const Tensor& ids, const Tensor& weight) const {
  auto* e = dynamic_cast<nn::Embedding*>(get_base_layer().get());
  return nn::functional::embedding(ids, weight, e != nullptr ? e->padding_idx : std::nullopt);
}

Tensor Embedding::lora_update(const std::string& adapter, const Tensor& x) {
  const Tensor after_a = embed(x, lora_embedding_A_->at(adapter).t());
  return matmul(after_a, lora_embedding_B_->at(adapter).t()) * scaling.at(adapter);
}

Tensor Embedding::get_delta_weight(const std::string& adapter) const {
  Tensor wa = lora_embedding_A_->at(adapter);
  Tensor wb = lora_embedding_B_->at(adapter);
  const DType dt = wa.dtype();
  const bool upcast = dt == kFloat16 || dt == kBFloat16;
  if (upcast) {
    wa = wa.to(kFloat32);
    wb = wb.to(kFloat32);
  }
  Tensor out = matmul(wb, wa).t() * scaling.at(adapter);
  return upcast ? out.to(dt) : out;
}

Tensor Embedding::forward(const Tensor& x) {
  return lora_forward(x);
}

}  // namespace peftcpp::lora
