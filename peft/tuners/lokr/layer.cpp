// LoKrLayer (port of LoKrLayer, Linear, Conv1d, Conv2d, factorization, make_weight_cp and
// make_kron in peft/tuners/lokr/layer.py @5d602fd).
#include "peft/tuners/lokr/layer.h"

#include <algorithm>
#include <cmath>

#include "autograd/grad_mode.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::lokr {
namespace {

const std::vector<std::string> kContainers = {
    "lokr_w1", "lokr_w1_a", "lokr_w1_b", "lokr_w2", "lokr_w2_a", "lokr_w2_b", "lokr_t2"};

void kaiming(Tensor& t) {
  kaiming_uniform_(t, std::sqrt(5.0));
}

}  // namespace

std::pair<std::int64_t, std::int64_t> factorization(std::int64_t dimension, std::int64_t factor) {
  if (factor > 0 && dimension % factor == 0)
    return {factor, dimension / factor};
  if (factor == -1)
    factor = dimension;
  std::int64_t m = 1, n = dimension;
  const std::int64_t length = m + n;  // never updated, as in LyCORIS
  while (m < n) {
    std::int64_t new_m = m + 1;
    while (dimension % new_m != 0) ++new_m;
    const std::int64_t new_n = dimension / new_m;
    if (new_m + new_n > length || new_m > factor)
      break;
    m = new_m;
    n = new_n;
  }
  if (m > n)
    std::swap(m, n);
  return {m, n};
}

Tensor make_kron(const Tensor& w1, const Tensor& w2, double scale) {
  const Tensor a = w2.dim() == 4 ? w1.unsqueeze(2).unsqueeze(2) : w1;
  return kron(a, w2.contiguous()) * scale;
}

LoKrLayer::LoKrLayer(
    std::shared_ptr<nn::UnaryModule> base_layer,
    const std::string& adapter,
    const LoKrConfig& config,
    int rank,
    double alpha)
    : LycorisLayer(std::move(base_layer), adapter, "lokr", kContainers) {
  update_layer(adapter, rank, alpha, config);
}

void LoKrLayer::create_adapter_parameters(
    const std::string& adapter,
    int rank,
    std::pair<std::int64_t, std::int64_t> out_split,
    std::pair<std::int64_t, std::int64_t> in_split,
    const std::vector<std::int64_t>& kernel,
    bool use_w1,
    bool use_w2,
    bool use_effective_conv2d) {
  const std::int64_t r = rank;
  const auto [a, b] = out_split;
  const auto [c, d] = in_split;
  if (use_w1) {
    new_param("lokr_w1", adapter, {a, c});
  } else {
    new_param("lokr_w1_a", adapter, {a, r});
    new_param("lokr_w1_b", adapter, {r, c});
  }
  std::int64_t kprod = 1;
  for (std::int64_t k : kernel) kprod *= k;
  if (use_w2) {
    Shape s = {b, d};
    s.insert(s.end(), kernel.begin(), kernel.end());
    new_param("lokr_w2", adapter, s);
  } else if (!kernel.empty() && use_effective_conv2d) {
    // Conv1d cores get a trailing 1 so that the 2-d kernel CP rebuild applies
    const std::int64_t k2 = kernel.size() == 2 ? kernel[1] : 1;
    new_param("lokr_t2", adapter, {r, r, kernel[0], k2});
    new_param("lokr_w2_a", adapter, {r, b});
    new_param("lokr_w2_b", adapter, {r, d});
  } else {
    new_param("lokr_w2_a", adapter, {b, r});
    new_param("lokr_w2_b", adapter, {r, d * kprod});
  }
}

void LoKrLayer::reset_adapter_parameters(const std::string& adapter) {
  NoGradGuard g;
  if (params("lokr_w1").contains(adapter)) {
    params("lokr_w1").at(adapter).zero_();
  } else {
    params("lokr_w1_a").at(adapter).zero_();
    kaiming(params("lokr_w1_b").at(adapter));
  }
  if (params("lokr_w2").contains(adapter)) {
    kaiming(params("lokr_w2").at(adapter));
  } else {
    kaiming(params("lokr_w2_a").at(adapter));
    kaiming(params("lokr_w2_b").at(adapter));
  }
  if (params("lokr_t2").contains(adapter))
    kaiming(params("lokr_t2").at(adapter));
}

void LoKrLayer::reset_adapter_parameters_random(const std::string& adapter) {
  NoGradGuard g;
  for (const char* n :
       {"lokr_w1", "lokr_w1_a", "lokr_w1_b", "lokr_w2", "lokr_w2_a", "lokr_w2_b", "lokr_t2"}) {
    if (params(n).contains(adapter))
      kaiming(params(n).at(adapter));
  }
}

void LoKrLayer::reset_adapter_parameters_lycoris_way(const std::string& adapter) {
  NoGradGuard g;
  if (params("lokr_w1").contains(adapter)) {
    kaiming(params("lokr_w1").at(adapter));
  } else {
    kaiming(params("lokr_w1_a").at(adapter));
    kaiming(params("lokr_w1_b").at(adapter));
  }
  if (params("lokr_w2").contains(adapter)) {
    params("lokr_w2").at(adapter).zero_();
  } else {
    params("lokr_w2_b").at(adapter).zero_();
    kaiming(params("lokr_w2_a").at(adapter));
  }
  if (params("lokr_t2").contains(adapter))
    kaiming(params("lokr_t2").at(adapter));
}

void LoKrLayer::update_layer(
    const std::string& adapter, int rank, double alpha_value, const LycorisConfig& config) {
  const auto* c = dynamic_cast<const LoKrConfig*>(&config);
  PEFTCPP_CHECK(c != nullptr, "[lokr] update_layer needs a LoKrConfig, got ", config.class_name());
  set_adapter_settings(adapter, rank, alpha_value, config);
  rank_dropout_scale[adapter] = c->rank_dropout_scale;

  const std::int64_t in_dim = in_features / groups();
  const auto in_split = factorization(in_dim, c->decompose_factor);
  const auto out_split = factorization(out_features, c->decompose_factor);
  const std::vector<std::int64_t> kernel = kernel_size();
  const double r = rank;
  const bool use_w1 = !(
      c->decompose_both && r < static_cast<double>(std::max(out_split.first, in_split.first)) / 2);
  const bool use_w2 = !(r < static_cast<double>(std::max(out_split.second, in_split.second)) / 2);
  bool effective = false;
  if (base_kind() != lycoris::BaseKind::Linear) {
    // 1x1 / k=1 kernels are pointwise: the flattened form is the cheaper, equivalent one
    const bool pointwise = std::all_of(kernel.begin(), kernel.end(), [](auto k) { return k == 1; });
    effective = c->use_effective_conv2d && !pointwise;
  }
  create_adapter_parameters(adapter, rank, out_split, in_split, kernel, use_w1, use_w2, effective);

  const InitWeights& init = c->init_weights;
  if (init == "lycoris") {
    reset_adapter_parameters_lycoris_way(adapter);
  } else if (init.is_string() || init.as_bool()) {
    reset_adapter_parameters(adapter);
  } else {
    reset_adapter_parameters_random(adapter);
  }
  set_adapter(active_adapters_, config.inference_mode);
}

Tensor LoKrLayer::get_delta_weight(const std::string& adapter) const {
  const Tensor w1 = params("lokr_w1").contains(adapter)
                        ? params("lokr_w1").at(adapter)
                        : matmul(params("lokr_w1_a").at(adapter), params("lokr_w1_b").at(adapter));
  Tensor w2;
  if (params("lokr_w2").contains(adapter)) {
    w2 = params("lokr_w2").at(adapter);
  } else if (params("lokr_t2").contains(adapter)) {
    w2 = lycoris::rebuild_cp(
        params("lokr_t2").at(adapter),
        params("lokr_w2_a").at(adapter),
        params("lokr_w2_b").at(adapter));
  } else {
    w2 = matmul(params("lokr_w2_a").at(adapter), params("lokr_w2_b").at(adapter));
  }
  Tensor weight = make_kron(w1, w2, scaling.at(adapter)).reshape(base_weight().shape());
  const double p = rank_dropout.at(adapter);
  if (is_training() && p != 0.0)
    weight = drop_rows(weight, p, rank_dropout_scale.at(adapter));
  return weight;
}

}  // namespace peftcpp::lokr
