// LoHaModel: the LoHa tuner (port of peft/tuners/loha/model.py @5d602fd). Paper: FedPara,
// Hyeon-Woo et al. 2021, arXiv:2108.06098; LyCORIS, Yeh et al. 2023, arXiv:2309.14859.
//
// Replaces the targeted nn::Linear / Conv1d / Conv2d modules by loha layers (loha/layer.h);
// everything else is LycorisTuner's. Tensors are prefixed "hada_" (file keys
// `base_model.model.<module>.hada_w1_a`, ...).
#pragma once

#include <memory>
#include <string>

#include "peft/tuners/loha/layer.h"
#include "peft/tuners/lycoris/tuner.h"

namespace peftcpp::loha {

class LoHaModel : public lycoris::LycorisTuner {
 public:
  explicit LoHaModel(nn::ModulePtr model) : LycorisTuner(std::move(model)) {}
  std::string type_name() const override {
    return "LoHaModel";
  }
  std::string prefix() const override {
    return "hada_";
  }
  bool is_tuner_layer(const nn::Module& m) const override {
    return dynamic_cast<const LoHaLayer*>(&m) != nullptr;
  }

 protected:
  std::string method_name() const override {
    return "loha";
  }
  std::shared_ptr<lycoris::LycorisLayer> make_layer(
      const std::shared_ptr<nn::UnaryModule>& target,
      const std::string& adapter,
      const LycorisConfig& config,
      int rank,
      double alpha) const override;
};

/// Factory for the tuner registry.
std::shared_ptr<BaseTuner> make_loha_model(nn::ModulePtr model);

}  // namespace peftcpp::loha
