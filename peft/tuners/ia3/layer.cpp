// IA3Layer: what the (IA)^3 layer types share (port of IA3Layer in peft/tuners/ia3/layer.py
// @5d602fd): the per-adapter vectors, their initialisation and the scaling of the active ones.
#include "peft/tuners/ia3/layer.h"

#include "autograd/grad_mode.h"
#include "nn/layers/conv.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::ia3 {

IA3Layer::IA3Layer(
    std::shared_ptr<nn::UnaryModule> base_layer, const std::string& adapter, bool feedforward)
    : BaseTunerLayer(std::move(base_layer)),
      is_feedforward(feedforward),
      ia3_l_(std::make_shared<AdapterParameterDict>()) {
  register_module("ia3_l", ia3_l_);
  adapter_layer_names_ = {"ia3_l"};
  active_adapters_ = {adapter};
  nn::ModulePtr base = get_base_layer();
  if (auto* l = dynamic_cast<nn::Linear*>(base.get())) {
    in_features = l->in_features;
    out_features = l->out_features;
  } else if (auto* c2 = dynamic_cast<nn::Conv2d*>(base.get())) {
    in_features = c2->in_channels;
    out_features = c2->out_channels;
  } else if (auto* c1 = dynamic_cast<nn::Conv1d*>(base.get())) {
    in_features = c1->in_channels;
    out_features = c1->out_channels;
  } else if (auto* e = dynamic_cast<nn::Embedding*>(base.get())) {
    in_features = e->num_embeddings;
    out_features = e->embedding_dim;
  } else if (auto* g = dynamic_cast<nn::Conv1D*>(base.get())) {
    // transformers Conv1D: weight [nx, nf] read as (in, out)
    in_features = g->nx;
    out_features = g->nf;
  } else {
    throw ValueError(detail::concat("[ia3] unsupported layer type ", base->type_name()));
  }
}

bool IA3Layer::has_adapter(const std::string& adapter) const {
  return ia3_l_->contains(adapter);
}

void IA3Layer::update_layer(const std::string& adapter, const IA3Config& config) {
  Tensor weight = randn(vector_shape());
  // PEFT moves the vector to the base weight's dtype, then autocast lifts 16-bit ones to float32.
  const DType base = base_weight().dtype();
  if (base == kFloat64)
    weight = weight.to(kFloat64);
  ia3_l_->insert(adapter, weight);
  if (config.init_ia3_weights)
    reset_ia3_parameters(adapter);
  set_adapter(active_adapters_, config.inference_mode);
}

void IA3Layer::reset_ia3_parameters(const std::string& adapter) {
  if (!ia3_l_->contains(adapter))
    return;
  NoGradGuard g;
  ia3_l_->at(adapter).fill_(1.0);
}

Tensor IA3Layer::combined_scaling(bool flat, DType& dtype) const {
  Tensor scaling;
  for (const std::string& a : active_adapters_) {
    if (!ia3_l_->contains(a))
      continue;
    const Tensor& l = ia3_l_->at(a);
    dtype = l.dtype();
    const Tensor v = flat ? l.flatten() : l;
    scaling = scaling.defined() ? scaling * v : v;
  }
  return scaling;
}

}  // namespace peftcpp::ia3
