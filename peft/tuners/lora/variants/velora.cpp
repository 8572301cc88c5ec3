// VeLoRA: memory-efficient LoRA training by compressing the activations that lora_A keeps for
// its weight gradient (port of peft/tuners/lora/velora.py and VeloraLinearVariant in
// peft/tuners/lora/variants.py @5d602fd). Paper: Miles et al. 2024, arXiv:2405.17991.
//
// The input is split into num_groups sub-tokens of group_dim = ceil(in / num_groups) features;
// each sub-token is stored only as its projection on a unit vector `lora_velora_embed.<adapter>`
// and rebuilt as (projection * embed) * scale for lora_A's weight gradient. The forward value and
// the input gradient are exact; only dL/dA uses the rebuilt activations. Outside training (or
// without grad) the adapter is plain LoRA. init_type: "random" (fixed random unit vector),
// "batch_average" (mean sub-token of every training batch), "batch_average_once" (first batch).
#include <cmath>

#include "autograd/grad_mode.h"
#include "nn/functional.h"
#include "peft/tuners/lora/layer.h"
#include "peft/tuners/lora/variants/variants.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::lora {
namespace {

std::int64_t group_dim(std::int64_t in, std::int64_t groups) {
  return (in + groups - 1) / groups;
}

// [..., in] -> [T, groups, group_dim] (zero padded).
Tensor grouped(const Tensor& x, std::int64_t groups) {
  const std::int64_t in = x.size(-1);
  const std::int64_t d = group_dim(in, groups);
  Tensor p = x;
  if (groups * d != in) {
    p = pad(x, {0, groups * d - in});  // zeros on the right of the last dim
  }
  return p.reshape({-1, groups, d});
}

Tensor normalize_projection(const Tensor& e) {
  Tensor f = e.to(kFloat32);
  double n = norm(f).item<float>();
  if (n == 0.0) {
    f = ones_like(f);
    n = std::sqrt(static_cast<double>(f.numel()));
  }
  return f / n;
}

BufferDict& embeds(LoraLayer& layer) {
  auto d = std::dynamic_pointer_cast<BufferDict>(layer.find_child("lora_velora_embed"));
  PEFTCPP_CHECK(d != nullptr, "[lora] VeLoRA layer without lora_velora_embed");
  return *d;
}

class VeloraVariant : public LoraVariant {
 public:
  const char* name() const override {
    return "VeLoRA";
  }
  void init(
      LoraLayer& layer,
      const std::string& adapter,
      const LoraConfig& config,
      const std::string&) override {
    if (layer.find_child("lora_velora_embed") == nullptr) {
      layer.register_module("lora_velora_embed", std::make_shared<BufferDict>(true));
    }
    const Json& vc = config.velora_config;
    const Json* g = vc.find("num_groups");
    const Json* s = vc.find("scale");
    const Json* t = vc.find("init_type");
    num_groups_ = g != nullptr && g->is_int() ? g->as_int() : 1;
    scale_ = s != nullptr && s->is_number() ? s->as_double() : 1.0;
    init_type_ = t != nullptr && t->is_string() ? t->as_string() : "batch_average_once";
    const std::int64_t d = group_dim(layer.in_features, num_groups_);
    const DType dt = layer.base_weight().dtype();
    Tensor embed;
    if (init_type_ == "random") {
      embed = normalize_projection(randn({d})).to(dt);
      initialized_ = true;
    } else {
      embed = zeros({d}, dt);
      initialized_ = false;
    }
    embeds(layer).insert(adapter, embed);
  }
  Tensor merge_safe(LoraLayer& layer, const std::string& adapter, const Tensor& weight) override {
    return weight + layer.get_delta_weight(adapter).to(weight.dtype());
  }
  Tensor unmerge(LoraLayer& layer, const std::string& adapter, const Tensor& weight) override {
    return weight - layer.get_delta_weight(adapter).to(weight.dtype());
  }
  Tensor forward(
      LoraLayer& layer,
      const std::string& adapter,
      const Tensor& x_in,
      const Tensor& result) override {
    const Tensor x = layer.dropout(adapter)->forward(x_in);
    Tensor after_a;
    if (layer.is_training() && GradMode::is_enabled()) {
      maybe_update_embed(layer, adapter, x);
      after_a = compressed_linear(x, layer.A_weight(adapter), embeds(layer).at(adapter));
    } else {
      after_a = layer.A(adapter)->forward(x);
    }
    return result + layer.B(adapter)->forward(after_a) * layer.scaling.at(adapter);
  }

 private:
  void maybe_update_embed(LoraLayer& layer, const std::string& adapter, const Tensor& x) {
    if (init_type_ == "random")
      return;
    if (init_type_ == "batch_average_once" && initialized_)
      return;
    NoGradGuard g;
    const Tensor sub = grouped(x.detach(), num_groups_);
    const Tensor e = normalize_projection(mean(sub.reshape({-1, sub.size(-1)}), {0}));
    Tensor& target = embeds(layer).at(adapter);
    target = e.to(target.dtype());
    initialized_ = true;
  }
  // linear(x, w) whose weight gradient uses the rebuilt activations (VeloraFunction).
  Tensor compressed_linear(const Tensor& x, const Tensor& w, const Tensor& embed) const {
    Tensor rebuilt;
    {
      NoGradGuard g;
      const Tensor e = embed.to(x.dtype());
      const Tensor gx = grouped(x.detach(), num_groups_);  // [T, G, D]
      const Tensor compressed = matmul(gx, e);             // [T, G]
      const Tensor rec = (compressed.unsqueeze(-1) * e.view({1, 1, -1}))
                             .reshape({-1, compressed.size(-1) * e.numel()});
      rebuilt = (rec.narrow(1, 0, x.size(-1)) * scale_).reshape(x.shape());
    }
    const Tensor through_w = nn::functional::linear(rebuilt, w);
    return nn::functional::linear(x, w.detach()) + through_w - through_w.detach();
  }

  std::int64_t num_groups_ = 1;
  double scale_ = 1.0;
  std::string init_type_ = "batch_average_once";
  bool initialized_ = false;
};

}  // namespace

std::shared_ptr<LoraVariant> make_velora_variant() {
  return std::make_shared<VeloraVariant>();
}

}  // namespace peftcpp::lora
