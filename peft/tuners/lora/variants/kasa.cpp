// KaSA: knowledge-aware singular-value adaptation (port of KasaLinearVariant and
// _kasa_layer_regularization_loss in peft/tuners/lora/variants.py @5d602fd). Paper: Wang et al.
// 2024, arXiv:2412.06071.
//
// At init the base weight W = U S V^T is truncated to its k - r largest singular components
// (k = min(in, out)); the adapter then learns dW = scaling * B diag(lora_diag) A, with a trainable
// diagonal lora_diag.<adapter> [r]. The truncation changes the base weights (so disabling the
// adapter does not give back the original model) and cannot be expressed as plain LoRA.
#include "autograd/grad_mode.h"
#include "peft/tuners/lora/layer.h"
#include "peft/tuners/lora/variants/variants.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::lora {
namespace {

AdapterParameterDict& diag_dict(LoraLayer& layer) {
  auto d = std::dynamic_pointer_cast<AdapterParameterDict>(layer.find_child("lora_diag"));
  PEFTCPP_CHECK(d != nullptr, "[lora] KaSA layer without lora_diag");
  return *d;
}

class KasaVariant : public LoraVariant {
 public:
  const char* name() const override {
    return "KaSA";
  }
  bool supports_lora_conversion() const override {
    return false;
  }
  void init(
      LoraLayer& layer,
      const std::string& adapter,
      const LoraConfig&,
      const std::string& target_name) override {
    PEFTCPP_CHECK(
        !layer.fan_in_fan_out,
        "[lora] KaSA does not support `fan_in_fan_out=True` layers "
        "(e.g. Conv1D); target nn.Linear layers (",
        target_name,
        ")");
    if (layer.find_child("lora_diag") == nullptr) {
      layer.register_module("lora_diag", std::make_shared<AdapterParameterDict>());
      layer.add_adapter_layer_name("lora_diag");
    }
    const int r = layer.r.at(adapter);
    const DType dt = layer.A_weight(adapter).dtype();
    diag_dict(layer).insert(adapter, randn({r}).to(dt), true);

    NoGradGuard g;
    Tensor& weight = layer.base_weight();
    const std::int64_t out = weight.size(0), in = weight.size(1);
    const std::int64_t k = std::min(in, out);
    PEFTCPP_CHECK(
        r < k,
        "[lora] KaSA requires `r` (",
        r,
        ") to be smaller than "
        "min(in_features, out_features) (",
        k,
        ") so that at least one singular component "
        "of the base weight is preserved after truncation (",
        target_name,
        ")");
    const auto [u, s, vh] = svd(weight.detach().to(kFloat32), false);
    const std::int64_t keep = k - r;
    const Tensor truncated =
        matmul(u.narrow(1, 0, keep) * s.narrow(0, 0, keep), vh.narrow(0, 0, keep));
    nn::set_data(weight, truncated.to(weight.dtype()).contiguous());
  }
  static Tensor delta(LoraLayer& layer, const std::string& adapter) {
    const Tensor d =
        matmul(layer.B_weight(adapter) * diag_dict(layer).at(adapter), layer.A_weight(adapter));
    return transpose_if(d, layer.fan_in_fan_out) * layer.scaling.at(adapter);
  }
  Tensor merge_safe(LoraLayer& layer, const std::string& adapter, const Tensor& weight) override {
    NoGradGuard g;
    return weight + delta(layer, adapter).to(weight.dtype());
  }
  Tensor unmerge(LoraLayer& layer, const std::string& adapter, const Tensor& weight) override {
    NoGradGuard g;
    return weight - delta(layer, adapter).to(weight.dtype());
  }
  Tensor forward(
      LoraLayer& layer,
      const std::string& adapter,
      const Tensor& x,
      const Tensor& result) override {
    const Tensor after_a = layer.A(adapter)->forward(layer.dropout(adapter)->forward(x));
    return result + layer.B(adapter)->forward(after_a * diag_dict(layer).at(adapter)) *
                        layer.scaling.at(adapter);
  }
};

}  // namespace

std::shared_ptr<LoraVariant> make_kasa_variant() {
  return std::make_shared<KasaVariant>();
}

}  // namespace peftcpp::lora
