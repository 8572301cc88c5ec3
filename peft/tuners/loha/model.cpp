// LoHaModel (port of peft/tuners/loha/model.py @5d602fd).
#include "peft/tuners/loha/model.h"

#include "tensor/error.h"

namespace peftcpp::loha {

std::shared_ptr<lycoris::LycorisLayer> LoHaModel::make_layer(
    const std::shared_ptr<nn::UnaryModule>& target,
    const std::string& adapter,
    const LycorisConfig& config,
    int rank,
    double alpha) const {
  const auto* c = dynamic_cast<const LoHaConfig*>(&config);
  PEFTCPP_CHECK(c != nullptr, "[loha] expected a LoHaConfig, got ", config.class_name());
  return std::make_shared<LoHaLayer>(target, adapter, *c, rank, alpha);
}

std::shared_ptr<BaseTuner> make_loha_model(nn::ModulePtr model) {
  return std::make_shared<LoHaModel>(std::move(model));
}

}  // namespace peftcpp::loha
