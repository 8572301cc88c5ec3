// PeftModel core: construction and forward (port of PeftModel.__init__ / forward and LoraModel's
// mixed-batch forward hooks, peft/peft_model.py and peft/tuners/lora/model.py @5d602fd).
#include "peft/peft_model.h"

#include "peft/tuners/prompt_learning/tuner.h"
#include "peft/tuners/registry.h"
#include "peft/utils/auxiliary.h"
#include "tensor/error.h"

namespace peftcpp {

PeftModel::PeftModel(
    nn::ModulePtr model, std::unique_ptr<PeftConfig> config, const std::string& adapter)
    : active_adapter_(adapter) {
  PEFTCPP_CHECK(model != nullptr, "[peft] PeftModel: the base model is null");
  PEFTCPP_CHECK(config != nullptr, "[peft] PeftModel: the config is null");
  peft_type_ = config->peft_type();
  const TunerEntry* entry = find_tuner(peft_type_);
  PEFTCPP_CHECK(
      entry != nullptr,
      "[peft] ",
      peft_type_name(peft_type_),
      " not implemented (implemented methods: ",
      registered_tuners(),
      ")");
  tuner_ = entry->make(std::move(model));
  for (const auto& [name, child] : tuner_->peft_model_children()) register_module(name, child);
  tuner_->add_adapter(adapter, std::move(config));
}

void PeftModel::set_forward_adapter_names(const AdapterNames* names) {
  for (const auto& [key, m] : tuner_->model()->named_modules()) {
    if (auto* layer = dynamic_cast<BaseTunerLayer*>(m.get())) {
      layer->set_forward_adapter_names(names);
    } else if (auto* w = dynamic_cast<AuxiliaryTrainingWrapper*>(m.get())) {
      w->set_forward_adapter_names(names);
    }
  }
}

template <class Fn>
auto PeftModel::with_adapter_names(const AdapterNames& names, Fn&& fn) {
  PEFTCPP_CHECK(
      !is_training(), "[peft] cannot pass `adapter_names` when the model is in training mode");
  tuner_->check_forward_adapter_names(names);
  struct Reset {
    PeftModel* m;
    ~Reset() {
      m->set_forward_adapter_names(nullptr);
    }
  } reset{this};
  set_forward_adapter_names(&names);
  return fn();
}

models::ModelOutput PeftModel::forward(const models::ModelInputs& inputs) {
  auto* pm = dynamic_cast<models::PreTrainedModel*>(get_base_model().get());
  PEFTCPP_CHECK(
      pm != nullptr,
      "[peft] forward(ModelInputs) needs a transformers base model, this one "
      "is a ",
      get_base_model()->type_name(),
      " (call forward(Tensor))");
  if (auto* pl = dynamic_cast<prompt_learning::PromptLearningTuner*>(tuner_.get())) {
    // disable_adapter() makes PEFT's prompt-learning PeftModel forward the base model's
    if (!adapters_disabled_)
      return pl->forward(inputs, task_type());
  }
  return pm->forward(inputs);
}

Tensor PeftModel::forward(const Tensor& x) {
  PEFTCPP_CHECK(
      !active_peft_config().is_prompt_learning(),
      "[peft] ",
      peft_type_name(peft_type_),
      " needs a transformers model (call forward(ModelInputs))");
  auto* um = dynamic_cast<nn::UnaryModule*>(get_base_model().get());
  PEFTCPP_CHECK(
      um != nullptr,
      "[peft] forward(Tensor) needs a one-input base model, this one is a ",
      get_base_model()->type_name(),
      " (call forward(ModelInputs))");
  return um->forward(x);
}

models::ModelOutput PeftModel::forward(
    const models::ModelInputs& inputs, const AdapterNames& names) {
  return with_adapter_names(names, [&] { return forward(inputs); });
}

Tensor PeftModel::forward(const Tensor& x, const AdapterNames& names) {
  return with_adapter_names(names, [&] { return forward(x); });
}

}  // namespace peftcpp
