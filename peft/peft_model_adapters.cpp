// PeftModel adapter management, merging, parameter counts, LoRA scaling and status (port of
// peft/peft_model.py, helpers.rescale_adapter_scale and get_layer_status / get_model_status
// @5d602fd).
#include <algorithm>
#include <iostream>
#include <set>
#include <sstream>

#include "peft/peft_model.h"
#include "peft/tuners/lora/layer.h"
#include "peft/tuners/registry.h"
#include "peft/utils/auxiliary.h"
#include "peft/utils/trainable_modules.h"
#include "tensor/error.h"

namespace peftcpp {
namespace {

std::string with_commas(std::int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
    s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

Tristate tristate(const std::vector<bool>& v) {
  const bool all = std::all_of(v.begin(), v.end(), [](bool b) { return b; });
  const bool any = std::any_of(v.begin(), v.end(), [](bool b) { return b; });
  return all ? Tristate::True : (any ? Tristate::Irregular : Tristate::False);
}

}  // namespace

void PeftModel::add_adapter(const std::string& adapter, std::unique_ptr<PeftConfig> config) {
  PEFTCPP_CHECK(config != nullptr, "[peft] add_adapter('", adapter, "'): null config");
  PEFTCPP_CHECK(
      !tuner_->has_adapter(adapter), "[peft] adapter with name '", adapter, "' already exists");
  PEFTCPP_CHECK(
      config->peft_type() == peft_type_,
      "[peft] cannot combine adapters with different "
      "peft types. Found ",
      peft_type_name(peft_type_),
      " and ",
      peft_type_name(config->peft_type()),
      ".");
  const TunerEntry* entry = find_tuner(peft_type_);
  if (entry != nullptr && std::string(entry->prefix).find(adapter) != std::string::npos) {
    std::cerr << "[peft] warning: adapter name '" << adapter << "' should not be contained in the "
              << "prefix '" << entry->prefix << "'\n";
  }
  tuner_->add_adapter(adapter, std::move(config));
}

void PeftModel::set_adapter(const std::string& adapter, bool inference_mode) {
  PEFTCPP_CHECK(tuner_->has_adapter(adapter), "[peft] adapter ", adapter, " not found");
  active_adapter_ = adapter;
  tuner_->set_adapter({adapter}, inference_mode);
}

void PeftModel::set_adapters(const AdapterNames& adapters, bool inference_mode) {
  PEFTCPP_CHECK(!adapters.empty(), "[peft] set_adapters: give at least one adapter");
  for (const std::string& a : adapters) {
    PEFTCPP_CHECK(tuner_->has_adapter(a), "[peft] adapter ", a, " not found");
  }
  active_adapter_ = adapters.front();
  tuner_->set_adapter(adapters, inference_mode);
}

void PeftModel::delete_adapter(const std::string& adapter) {
  PEFTCPP_CHECK(tuner_->has_adapter(adapter), "[peft] adapter ", adapter, " does not exist");
  tuner_->delete_adapter(adapter);
  if (tuner_->active_adapters().size() == 1)
    active_adapter_ = tuner_->active_adapters().front();
}

void PeftModel::set_requires_grad(const AdapterNames& adapters, bool requires_grad) {
  PEFTCPP_CHECK(
      !active_peft_config().is_prompt_learning(),
      "[peft] setting `requires_grad` is not "
      "supported for prompt learning methods like ",
      peft_type_name(peft_type_),
      ".");
  tuner_->set_requires_grad(adapters, requires_grad);
}

PeftModel::DisableAdapterScope::DisableAdapterScope(PeftModel& model) : model_(model) {
  if (model.active_peft_config().is_prompt_learning()) {
    // PEFT swaps in the base model's forward; modules_to_save copies stay active.
    reenable_ = false;
    model.adapters_disabled_ = true;
    return;
  }
  const TunerModelStatus status = model.get_model_status();
  if (status.enabled == Tristate::Irregular) {
    std::cerr << "[peft] warning: the model contains some adapter layers that are enabled and "
                 "others that are disabled; after the disable_adapter scope all will be enabled\n";
  }
  reenable_ = status.enabled != Tristate::False;
  model.tuner_->disable_adapter_layers();
  model.adapters_disabled_ = true;
}

PeftModel::DisableAdapterScope::~DisableAdapterScope() {
  if (reenable_)
    model_.tuner_->enable_adapter_layers();
  model_.adapters_disabled_ = false;
}

void PeftModel::merge_adapter(const std::optional<AdapterNames>& adapter_names, bool safe_merge) {
  tuner_->merge_adapter(adapter_names, safe_merge);
}

void PeftModel::unmerge_adapter() {
  tuner_->unmerge_adapter();
}

nn::ModulePtr PeftModel::merge_and_unload(
    bool safe_merge, const std::optional<AdapterNames>& names) {
  return tuner_->merge_and_unload(safe_merge, names);
}

nn::ModulePtr PeftModel::unload() {
  return tuner_->unload();
}

std::pair<std::int64_t, std::int64_t> PeftModel::get_nb_trainable_parameters() const {
  std::int64_t trainable = 0, all = 0;
  for (const auto& [n, p] : named_parameters()) {
    all += p.numel();
    if (p.requires_grad())
      trainable += p.numel();
  }
  return {trainable, all};
}

std::string PeftModel::trainable_parameters_text() const {
  const auto [trainable, all] = get_nb_trainable_parameters();
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(4);
  os << "trainable params: " << with_commas(trainable) << " || all params: " << with_commas(all)
     << " || trainable%: "
     << (all > 0 ? 100.0 * static_cast<double>(trainable) / static_cast<double>(all) : 0.0);
  return os.str();
}

void PeftModel::print_trainable_parameters() const {
  std::cout << trainable_parameters_text() << '\n';
}

void PeftModel::set_scale(const std::string& adapter, double scale) {
  bool found = false;
  for (const auto& [k, m] : get_base_model()->named_modules()) {
    if (auto* l = dynamic_cast<lora::LoraLayer*>(m.get())) {
      l->set_scale(adapter, scale);
      found = true;
    }
  }
  PEFTCPP_CHECK(found, "[peft] set_scale is only supported for models with LoRA layers");
}

PeftModel::RescaleScope::RescaleScope(PeftModel& model, double multiplier) {
  for (const auto& [k, m] : model.get_base_model()->named_modules()) {
    if (auto* l = dynamic_cast<lora::LoraLayer*>(m.get())) {
      saved_.emplace_back(m, l->scaling);
      for (auto& [a, s] : l->scaling) s *= multiplier;
    }
  }
  PEFTCPP_CHECK(!saved_.empty(), "[peft] scaling is only supported for models with `LoraLayer`s");
}

PeftModel::RescaleScope::~RescaleScope() {
  for (auto& [m, scaling] : saved_) static_cast<lora::LoraLayer&>(*m).scaling = scaling;
}

std::vector<TunerLayerStatus> PeftModel::get_layer_status() const {
  std::vector<TunerLayerStatus> out;
  for (const auto& [name, m] : tuner_->named_modules()) {
    auto* layer = dynamic_cast<BaseTunerLayer*>(m.get());
    auto* aux = dynamic_cast<AuxiliaryTrainingWrapper*>(m.get());
    if ((layer == nullptr && aux == nullptr) || dynamic_cast<TrainableTokensWrapper*>(m.get()))
      continue;
    TunerLayerStatus s;
    s.name = name;
    s.module_type = m->type_name();
    std::map<std::string, std::vector<bool>> grads;
    if (layer != nullptr) {
      s.enabled = !layer->disable_adapters();
      s.active_adapters = layer->active_adapters();
      s.merged_adapters = layer->merged_adapters();
      for (const std::string& n : layer->adapter_layer_names()) {
        nn::ModulePtr c = layer->find_child(n);
        if (!c)
          continue;
        for (const std::string& k : adapter_dict::keys(*c)) {
          if (auto* md = dynamic_cast<nn::ModuleDict*>(c.get())) {
            for (const Tensor& p : md->at(k)->parameters()) grads[k].push_back(p.requires_grad());
          } else if (auto* pd = dynamic_cast<nn::ParameterDict*>(c.get())) {
            grads[k].push_back(pd->at(k).requires_grad());
          }
        }
      }
      const std::set<std::string> av = layer->available_adapters();
      s.available_adapters.assign(av.begin(), av.end());
    } else {
      auto* mts = dynamic_cast<ModulesToSaveWrapper*>(aux);
      s.enabled = !aux->disable_adapters();
      s.active_adapters = aux->active_adapters();
      if (mts != nullptr) {
        for (const std::string& k : mts->modules_to_save()->keys()) {
          for (const Tensor& p : mts->modules_to_save()->at(k)->parameters())
            grads[k].push_back(p.requires_grad());
        }
      }
      s.available_adapters.assign(aux->adapters().begin(), aux->adapters().end());
    }
    for (const auto& [k, v] : grads) s.requires_grad[k] = tristate(v);
    out.push_back(std::move(s));
  }
  PEFTCPP_CHECK(!out.empty(), "[peft] no adapter layers found in the model");
  return out;
}

TunerModelStatus PeftModel::get_model_status() const {
  TunerModelStatus s;
  s.base_model_type = get_base_model()->type_name();
  s.adapter_model_type = tuner_->type_name();
  for (const std::string& a : tuner_->adapter_names()) {
    s.peft_types[a] = std::string(peft_type_name(peft_config(a).peft_type()));
  }
  std::tie(s.trainable_params, s.total_params) = get_nb_trainable_parameters();
  const std::vector<TunerLayerStatus> layers = get_layer_status();
  s.num_adapter_layers = static_cast<std::int64_t>(layers.size());
  std::vector<bool> enabled;
  std::set<AdapterNames> active, merged;
  std::map<std::string, std::vector<Tristate>> grads;
  std::set<std::string> available;
  for (const TunerLayerStatus& l : layers) {
    enabled.push_back(l.enabled);
    active.insert(l.active_adapters);
    merged.insert(l.merged_adapters);
    for (const auto& [k, v] : l.requires_grad) grads[k].push_back(v);
    available.insert(l.available_adapters.begin(), l.available_adapters.end());
  }
  s.enabled = tristate(enabled);
  if (active.size() == 1)
    s.active_adapters = *active.begin();
  if (merged.size() == 1)
    s.merged_adapters = *merged.begin();
  for (const auto& [k, v] : grads) {
    const bool all_true =
        std::all_of(v.begin(), v.end(), [](Tristate t) { return t == Tristate::True; });
    const bool all_false =
        std::all_of(v.begin(), v.end(), [](Tristate t) { return t == Tristate::False; });
    s.requires_grad[k] =
        all_true ? Tristate::True : (all_false ? Tristate::False : Tristate::Irregular);
  }
  s.available_adapters.assign(available.begin(), available.end());
  return s;
}

}  // namespace peftcpp
