// MiCA: minor component adaptation (port of MiCALinearVariant / MiCAEmbeddingVariant in
// peft/tuners/lora/variants.py and LoraLayer.mica_init @5d602fd). Paper: arXiv:2604.01694.
// B holds the r left singular vectors of the base weight with the smallest singular values and
// stays frozen; A starts at zero and is trained. Forward and merge are vanilla LoRA.
#include "peft/tuners/lora/layer.h"
#include "peft/tuners/lora/variants/variants.h"
#include "tensor/ops.h"

namespace peftcpp::lora {
namespace {

class MiCAVariant : public LoraVariant {
 public:
  explicit MiCAVariant(bool embedding) : embedding_(embedding) {}
  const char* name() const override {
    return "MiCA";
  }
  void init(LoraLayer& layer, const std::string& adapter, const LoraConfig&, const std::string&)
      override {
    layer.register_frozen_weight(adapter, embedding_ ? "lora_embedding_B" : "lora_B");
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
      const Tensor& x,
      const Tensor& result) override {
    if (embedding_) {
      auto& emb = static_cast<Embedding&>(layer);
      const Tensor after_a = emb.embed(x, layer.lora_embedding_A().at(adapter).t());
      return result +
             matmul(after_a, layer.lora_embedding_B().at(adapter).t()) * layer.scaling.at(adapter);
    }
    return result + layer.B(adapter)->forward(
                        layer.A(adapter)->forward(layer.dropout(adapter)->forward(x))) *
                        layer.scaling.at(adapter);
  }

 private:
  bool embedding_;
};

}  // namespace

std::shared_ptr<LoraVariant> make_mica_linear_variant() {
  return std::make_shared<MiCAVariant>(false);
}
std::shared_ptr<LoraVariant> make_mica_embedding_variant() {
  return std::make_shared<MiCAVariant>(true);
}

}  // namespace peftcpp::lora
