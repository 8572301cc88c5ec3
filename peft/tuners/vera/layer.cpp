// VeraLayer: per-adapter vectors and the shared projections (port of VeraLayer in
// peft/tuners/vera/layer.py @5d602fd).
#include "peft/tuners/vera/layer.h"

#include "autograd/grad_mode.h"
#include "nn/layers/activation.h"
#include "nn/layers/linear.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::vera {
namespace {

// PEFT moves adapter tensors to the base weight's dtype; autocast then lifts 16-bit ones to
// float32.
DType adapter_dtype(DType base) {
  return base == kFloat64 ? kFloat64 : kFloat32;
}

}  // namespace

VeraLayer::VeraLayer(std::shared_ptr<nn::UnaryModule> base_layer, const std::string& adapter)
    : BaseTunerLayer(std::move(base_layer)),
      vera_dropout_(std::make_shared<nn::ModuleDict>()),
      vera_lambda_b_(std::make_shared<AdapterParameterDict>()),
      vera_lambda_d_(std::make_shared<AdapterParameterDict>()) {
  register_module("vera_dropout", vera_dropout_);
  register_module("vera_lambda_b", vera_lambda_b_);
  register_module("vera_lambda_d", vera_lambda_d_);
  adapter_layer_names_ = {"vera_lambda_b", "vera_lambda_d"};
  active_adapters_ = {adapter};
  nn::ModulePtr base = get_base_layer();
  if (auto* l = dynamic_cast<nn::Linear*>(base.get())) {
    in_features = l->in_features;
    out_features = l->out_features;
  } else if (auto* c = dynamic_cast<nn::Conv1D*>(base.get())) {
    in_features = c->nx;  // weight [nx, nf] read as (in, out)
    out_features = c->nf;
  } else {
    throw ValueError(detail::concat("[vera] unsupported layer type ", base->type_name()));
  }
}

bool VeraLayer::has_adapter(const std::string& adapter) const {
  return vera_lambda_d_->contains(adapter);
}

void VeraLayer::update_layer(
    const std::string& adapter,
    const std::shared_ptr<BufferDict>& vera_A,
    const std::shared_ptr<BufferDict>& vera_B,
    int rank,
    const VeraConfig& config) {
  PEFTCPP_CHECK(
      rank > 0, "[vera] `r` should be a positive integer value but the value passed is ", rank);
  PEFTCPP_CHECK(
      vera_A != nullptr && vera_B != nullptr, "[vera] update_layer needs vera_A / vera_B");
  r[adapter] = rank;
  if (config.vera_dropout > 0.0) {
    vera_dropout_->insert(adapter, std::make_shared<nn::Dropout>(config.vera_dropout));
  } else {
    vera_dropout_->insert(adapter, std::make_shared<nn::Identity>());
  }
  const DType dtype = adapter_dtype(base_weight().dtype());
  vera_lambda_b_->insert(adapter, ones({out_features}, dtype));
  vera_lambda_d_->insert(adapter, randn({rank}).to(dtype));

  vera_A_ = vera_A;
  vera_B_ = vera_B;
  if (!vera_A->contains(adapter)) {
    // a later adapter: share the projections of the existing ones (they are all the same)
    const std::vector<std::string> keys = vera_A->keys();
    PEFTCPP_CHECK(
        !keys.empty() && vera_B->contains(keys.front()),
        "[vera] the `vera_A` and `vera_B` buffers are empty; add the first VeRA adapter "
        "through the VeraModel");
    const Tensor a = vera_A->at(keys.front());
    const Tensor b = vera_B->at(keys.front());
    const char* size_hint =
        " or greater is required; this probably happened because an additional VeRA adapter was "
        "added after the first one with incompatible shapes.";
    const char* rank_hint =
        " or greater is required; this probably happened because an additional VeRA adapter with "
        "a lower rank was added after the first one; loading the adapters in reverse order may "
        "solve this.";
    PEFTCPP_CHECK(
        a.size(1) >= in_features,
        "[vera] vera_A has a size of ",
        a.size(1),
        " but ",
        in_features,
        size_hint);
    PEFTCPP_CHECK(
        b.size(0) >= out_features,
        "[vera] vera_B has a size of ",
        b.size(0),
        " but ",
        out_features,
        size_hint);
    PEFTCPP_CHECK(
        a.size(0) >= rank, "[vera] vera_A has a size of ", a.size(0), " but ", rank, rank_hint);
    PEFTCPP_CHECK(
        b.size(1) >= rank, "[vera] vera_B has a size of ", b.size(1), " but ", rank, rank_hint);
    vera_A->insert(adapter, a);
    vera_B->insert(adapter, b);
  }
  if (config.init_weights)
    reset_vera_parameters(adapter, config.d_initial);
  // the projections follow the base dtype too (PEFT's _move_adapter_to_device_of_base_layer)
  if (vera_A->at(adapter).dtype() != dtype)
    vera_A->insert(adapter, vera_A->at(adapter).to(dtype));
  if (vera_B->at(adapter).dtype() != dtype)
    vera_B->insert(adapter, vera_B->at(adapter).to(dtype));
  set_adapter(active_adapters_, config.inference_mode);
}

void VeraLayer::reset_vera_parameters(const std::string& adapter, double d_initial) {
  if (!vera_lambda_d_->contains(adapter))
    return;
  NoGradGuard g;
  vera_lambda_d_->at(adapter).fill_(d_initial);
  vera_lambda_b_->at(adapter).fill_(0.0);
}

void VeraLayer::erase_adapter_settings(const std::string& name) {
  r.erase(name);
  if (vera_dropout_->contains(name))
    vera_dropout_->pop(name);
  // PEFT lists vera_A / vera_B in other_param_names: deleting an adapter removes its entry
  if (vera_A_ && vera_A_->contains(name))
    vera_A_->pop(name);
  if (vera_B_ && vera_B_->contains(name))
    vera_B_->pop(name);
}

Tensor VeraLayer::sliced_A(const std::string& adapter) const {
  return vera_A_->at(adapter).narrow(1, 0, in_features);
}

Tensor VeraLayer::sliced_B(const std::string& adapter) const {
  return vera_B_->at(adapter).narrow(0, 0, out_features);
}

}  // namespace peftcpp::vera
