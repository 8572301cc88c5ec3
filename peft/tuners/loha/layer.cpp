// LoHaLayer (port of LoHaLayer, Linear, Conv1d and Conv2d in peft/tuners/loha/layer.py
// @5d602fd); the weight functions are in hada_weight.cpp.
#include "peft/tuners/loha/layer.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::loha {
namespace {

const std::vector<std::string> kContainers = {
    "hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", "hada_t1", "hada_t2"};

void kaiming(Tensor& t) {
  kaiming_uniform_(t, std::sqrt(5.0));
}

}  // namespace

LoHaLayer::LoHaLayer(
    std::shared_ptr<nn::UnaryModule> base_layer,
    const std::string& adapter,
    const LoHaConfig& config,
    int rank,
    double alpha)
    : LycorisLayer(std::move(base_layer), adapter, "loha", kContainers) {
  update_layer(adapter, rank, alpha, config);
}

void LoHaLayer::create_adapter_parameters(
    const std::string& adapter, int rank, const Shape& shape) {
  const std::int64_t r = rank;
  if (shape.size() == 4 || shape.size() == 3) {
    // effective conv: CP core per factor pair; Conv1d cores get a trailing 1 (2-d kernel math)
    const std::int64_t k2 = shape.size() == 4 ? shape[3] : 1;
    new_param("hada_t1", adapter, {r, r, shape[2], k2});
    new_param("hada_w1_a", adapter, {r, shape[0]});
    new_param("hada_w1_b", adapter, {r, shape[1]});
    new_param("hada_t2", adapter, {r, r, shape[2], k2});
    new_param("hada_w2_a", adapter, {r, shape[0]});
    new_param("hada_w2_b", adapter, {r, shape[1]});
  } else {
    new_param("hada_w1_a", adapter, {shape[0], r});
    new_param("hada_w1_b", adapter, {r, shape[1]});
    new_param("hada_w2_a", adapter, {shape[0], r});
    new_param("hada_w2_b", adapter, {r, shape[1]});
  }
}

void LoHaLayer::reset_adapter_parameters(const std::string& adapter) {
  NoGradGuard g;
  // FedPara's He initialisation; one zero factor makes the initial delta zero
  if (params("hada_w1_a").contains(adapter)) {
    kaiming(params("hada_w1_a").at(adapter));
    kaiming(params("hada_w1_b").at(adapter));
    kaiming(params("hada_w2_a").at(adapter));
    params("hada_w2_b").at(adapter).zero_();
  }
  if (params("hada_t1").contains(adapter)) {
    kaiming(params("hada_t1").at(adapter));
    kaiming(params("hada_t2").at(adapter));
  }
}

void LoHaLayer::reset_adapter_parameters_random(const std::string& adapter) {
  NoGradGuard g;
  if (params("hada_w1_a").contains(adapter)) {
    for (const char* n : {"hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"}) {
      kaiming(params(n).at(adapter));
    }
  }
  if (params("hada_t1").contains(adapter)) {
    kaiming(params("hada_t1").at(adapter));
    kaiming(params("hada_t2").at(adapter));
  }
}

void LoHaLayer::update_layer(
    const std::string& adapter, int rank, double alpha_value, const LycorisConfig& config) {
  const auto* c = dynamic_cast<const LoHaConfig*>(&config);
  PEFTCPP_CHECK(c != nullptr, "[loha] update_layer needs a LoHaConfig, got ", config.class_name());
  set_adapter_settings(adapter, rank, alpha_value, config);

  const Shape w = base_weight().shape();
  Shape shape;
  if (base_kind() == lycoris::BaseKind::Linear) {
    shape = w;
  } else {
    // 1x1 / k=1 kernels are pointwise: the flattened form is the cheaper, equivalent one
    const std::vector<std::int64_t> k = kernel_size();
    bool effective = c->use_effective_conv2d;
    std::int64_t kprod = 1;
    bool pointwise = true;
    for (std::int64_t v : k) {
      kprod *= v;
      pointwise = pointwise && v == 1;
    }
    effective = effective && !pointwise;
    const std::int64_t in_ch = in_features / groups();
    if (effective) {
      shape = {out_features, in_ch};
      shape.insert(shape.end(), k.begin(), k.end());
    } else {
      shape = {out_features, in_ch * kprod};
    }
  }
  create_adapter_parameters(adapter, rank, shape);
  if (c->init_weights) {
    reset_adapter_parameters(adapter);
  } else {
    reset_adapter_parameters_random(adapter);
  }
  set_adapter(active_adapters_, config.inference_mode);
}

Tensor LoHaLayer::get_delta_weight(const std::string& adapter) const {
  const double s = scaling.at(adapter);
  Tensor weight;
  if (params("hada_t1").contains(adapter)) {
    weight = make_weight_cp(
        params("hada_t1").at(adapter),
        params("hada_w1_a").at(adapter),
        params("hada_w1_b").at(adapter),
        params("hada_t2").at(adapter),
        params("hada_w2_a").at(adapter),
        params("hada_w2_b").at(adapter),
        s);
  } else {
    weight = make_weight(
        params("hada_w1_a").at(adapter),
        params("hada_w1_b").at(adapter),
        params("hada_w2_a").at(adapter),
        params("hada_w2_b").at(adapter),
        s);
  }
  weight = weight.reshape(base_weight().shape());
  const double p = rank_dropout.at(adapter);
  // rank dropout drops rows of the delta (training only); LoHa always rescales by the mean
  if (is_training() && p != 0.0)
    weight = drop_rows(weight, p, true);
  return weight;
}

}  // namespace peftcpp::loha
