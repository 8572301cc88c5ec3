// Models of the optimizer golden cases.
#include "nn/optim/golden_model.h"

#include <map>

#include "tensor/ops.h"

namespace peftcpp::nn::optim::golden_detail {
namespace {

const ParamSpec* find_spec(const std::vector<ParamSpec>& params, const std::string& name) {
  for (const ParamSpec& p : params) {
    if (p.name == name)
      return &p;
  }
  return nullptr;
}

const ParamSpec& need_spec(const std::vector<ParamSpec>& params, const std::string& name) {
  const ParamSpec* p = find_spec(params, name);
  PEFTCPP_CHECK(
      p != nullptr && p->shape.size() == 2, "[golden] model has no 2-D parameter '", name, "'");
  return *p;
}

}  // namespace

GoldenLoraLinear::GoldenLoraLinear(
    std::int64_t in, std::int64_t out, std::int64_t r, bool with_bias, double s)
    : scaling(s) {
  weight = zeros({out, in});
  if (with_bias)
    bias = zeros({out});
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
  lora_A = register_module("lora_A", std::make_shared<Linear>(in, r, false));
  lora_B = register_module("lora_B", std::make_shared<Linear>(r, out, false));
}

Tensor GoldenLoraLinear::forward(const Tensor& x) {
  Tensor base = linear(x, weight, bias);
  return add(base, mul(lora_B->forward(lora_A->forward(x)), scaling));
}

GoldenNet::GoldenNet(
    const std::string& kind,
    const std::vector<ParamSpec>& params,
    const std::string& activation,
    double lora_scaling) {
  PEFTCPP_CHECK(
      kind == "mlp" || kind == "mlp_aux" || kind == "lora_mlp",
      "[golden] unknown model kind '",
      kind,
      "'");
  act_ = get_activation(activation);
  for (int i = 0;; ++i) {
    const std::string pre = "lin" + std::to_string(i);
    if (!find_spec(params, pre + ".weight"))
      break;
    const ParamSpec& w = need_spec(params, pre + ".weight");
    const bool has_bias = find_spec(params, pre + ".bias") != nullptr;
    std::shared_ptr<UnaryModule> layer;
    if (kind == "lora_mlp") {
      const ParamSpec& a = need_spec(params, pre + ".lora_A.weight");
      layer = std::make_shared<GoldenLoraLinear>(
          w.shape[1], w.shape[0], a.shape[0], has_bias, lora_scaling);
    } else {
      layer = std::make_shared<Linear>(w.shape[1], w.shape[0], has_bias);
    }
    register_module(pre, layer);
    layers_.push_back(layer);
  }
  PEFTCPP_CHECK(!layers_.empty(), "[golden] model has no lin0.weight");
  if (kind == "mlp_aux") {
    const ParamSpec& a = need_spec(params, "aux.weight");
    aux_ = register_module("aux", std::make_shared<Linear>(a.shape[1], a.shape[0], false));
  }
  // every meta parameter must exist here with its shape (and nothing else)
  std::map<std::string, Tensor> mine;
  for (auto& [name, t] : named_parameters()) mine[name] = t;
  PEFTCPP_CHECK(
      mine.size() == params.size(),
      "[golden] model kind '",
      kind,
      "' builds ",
      mine.size(),
      " parameters but meta.json lists ",
      params.size());
  for (const ParamSpec& p : params) {
    auto it = mine.find(p.name);
    PEFTCPP_CHECK(
        it != mine.end() && it->second.shape() == p.shape,
        "[golden] parameter '",
        p.name,
        "' is missing or has another shape in the rebuilt model");
    it->second.requires_grad_(p.requires_grad);
  }
}

Tensor GoldenNet::forward(const Tensor& x, bool use_aux) {
  Tensor h = x;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    h = layers_[i]->forward(h);
    if (i + 1 < layers_.size())
      h = act_->forward(h);
  }
  if (use_aux) {
    PEFTCPP_CHECK(aux_ != nullptr, "[golden] aux requested but the model has no aux layer");
    h = add(h, aux_->forward(x));
  }
  return h;
}

}  // namespace peftcpp::nn::optim::golden_detail
