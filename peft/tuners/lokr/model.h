// LoKrModel: the LoKr tuner (port of peft/tuners/lokr/model.py @5d602fd). Paper: LyCORIS,
// Yeh et al. 2023, arXiv:2309.14859 (after FedPara, arXiv:2108.06098).
//
// Replaces the targeted nn::Linear / Conv1d / Conv2d modules by lokr layers (lokr/layer.h);
// everything else is LycorisTuner's. Tensors are prefixed "lokr_" (file keys
// `base_model.model.<module>.lokr_w1`, ...).
#pragma once

#include <memory>
#include <string>

#include "peft/tuners/lokr/layer.h"
#include "peft/tuners/lycoris/tuner.h"

namespace peftcpp::lokr {

class LoKrModel : public lycoris::LycorisTuner {
 public:
  explicit LoKrModel(nn::ModulePtr model) : LycorisTuner(std::move(model)) {}
  std::string type_name() const override {
    return "LoKrModel";
  }
  std::string prefix() const override {
    return "lokr_";
  }
  bool is_tuner_layer(const nn::Module& m) const override {
    return dynamic_cast<const LoKrLayer*>(&m) != nullptr;
  }

 protected:
  std::string method_name() const override {
    return "lokr";
  }
  std::shared_ptr<lycoris::LycorisLayer> make_layer(
      const std::shared_ptr<nn::UnaryModule>& target,
      const std::string& adapter,
      const LycorisConfig& config,
      int rank,
      double alpha) const override;
};

/// Factory for the tuner registry.
std::shared_ptr<BaseTuner> make_lokr_model(nn::ModulePtr model);

}  // namespace peftcpp::lokr
