// LoKrModel (port of peft/tuners/lokr/model.py @5d602fd).
#include "peft/tuners/lokr/model.h"

#include "tensor/error.h"

namespace peftcpp::lokr {

std::shared_ptr<lycoris::LycorisLayer> LoKrModel::make_layer(
    const std::shared_ptr<nn::UnaryModule>& target,
    const std::string& adapter,
    const LycorisConfig& config,
    int rank,
    double alpha) const {
  const auto* c = dynamic_cast<const LoKrConfig*>(&config);
  PEFTCPP_CHECK(c != nullptr, "[lokr] expected a LoKrConfig, got ", config.class_name());
  return std::make_shared<LoKrLayer>(target, adapter, *c, rank, alpha);
}

std::shared_ptr<BaseTuner> make_lokr_model(nn::ModulePtr model) {
  return std::make_shared<LoKrModel>(std::move(model));
}

}  // namespace peftcpp::lokr
