// LoraModel (port of peft/tuners/lora/model.py and dispatch_default in
// peft/tuners/lora/layer.py @5d602fd).
#include "peft/tuners/lora/model.h"

#include "models/model.h"
#include "peft/utils/constants.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <set>

#include "nn/layers/conv.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "tensor/error.h"

namespace peftcpp::lora {
namespace {

std::vector<std::string> object_keys(const Json& j) {
  std::vector<std::string> out;
  if (!j.is_object())
    return out;
  for (const auto& [k, v] : j.as_object()) out.push_back(k);
  return out;
}

}  // namespace

TargetFields LoraModel::target_fields(PeftConfig& config) const {
  auto& c = config.as<LoraConfig>();
  TargetFields f;
  f.target_modules = &c.target_modules;
  f.exclude_modules = &c.exclude_modules;
  f.modules_to_save = &c.modules_to_save;
  f.target_parameters = &c.target_parameters;
  f.layers_to_transform = &c.layers_to_transform;
  f.layers_pattern = &c.layers_pattern;
  f.trainable_token_indices = &c.trainable_token_indices;
  f.ensure_weight_tying = &c.ensure_weight_tying;
  return f;
}

std::string LoraModel::bias_of(const PeftConfig& config) const {
  return config.as<LoraConfig>().bias;
}

std::vector<std::string> LoraModel::default_target_modules(const std::string& model_type) const {
  return lora_default_target_modules(model_type);
}

void LoraModel::prepare_model(PeftConfig& config, nn::Module& model) {
  const auto& c = config.as<LoraConfig>();
  if (c.layer_replication && !c.layer_replication->empty()) {
    // PEFT's replicate_layers: repeated decoder layers share base weights, then each copy gets
    // its own adapter when the layers are injected.
    auto* pretrained = dynamic_cast<models::PreTrainedModel*>(&model);
    if (pretrained == nullptr)
      throw ValueError("[lora] layer_replication needs a transformers model (models::PreTrainedModel)");
    pretrained->replicate_layers(*c.layer_replication);
  }
}

void LoraModel::check_new_adapter_config(const PeftConfig& config) const {
  BaseTuner::check_new_adapter_config(config);
  const auto& c = config.as<LoraConfig>();
  const bool kasa = !c.kasa_config.is_null();
  for (const auto& [name, other] : configs_) {
    if (other.get() == &config)
      continue;
    const auto& o = other->as<LoraConfig>();
    PEFTCPP_CHECK(
        kasa == !o.kasa_config.is_null(),
        "[lora] KaSA cannot be combined with adapters "
        "that don't use KaSA, since KaSA modifies the base weights: the new adapter ",
        kasa ? "uses" : "does not use",
        " KaSA but adapter '",
        name,
        "' ",
        kasa ? "does not" : "does",
        ".");
    if (c.target_parameters && !c.target_parameters->empty() && o.target_parameters &&
        !o.target_parameters->empty()) {
      const std::set<std::string> a(c.target_parameters->begin(), c.target_parameters->end());
      const std::set<std::string> b(o.target_parameters->begin(), o.target_parameters->end());
      PEFTCPP_CHECK(
          a == b,
          "[lora] when using multiple adapters with `target_parameters`, all "
          "adapters must target the same set of parameters (adapter '",
          name,
          "' differs)");
    }
  }
}

void LoraModel::check_merge_allowed() const {
  for (const auto& [name, cfg] : configs_) {
    const auto& c = cfg->as<LoraConfig>();
    PEFTCPP_CHECK(
        !c.layer_replication || c.layer_replication->empty(),
        "[lora] cannot merge LORA layers when base model layers are replicated");
  }
}

std::shared_ptr<LoraLayer> create_new_module(
    LoraConfig& config,
    const std::string& adapter,
    const nn::ModulePtr& target,
    int rank,
    double alpha,
    const std::string& target_name,
    const std::optional<std::string>& parameter_name) {
  nn::ModulePtr base = target;
  if (auto* t = dynamic_cast<BaseTunerLayer*>(target.get()))
    base = t->get_base_layer();
  auto unary = std::dynamic_pointer_cast<nn::UnaryModule>(target);
  if (parameter_name) {
    PEFTCPP_CHECK(unary != nullptr, "[lora] cannot wrap a parameter of ", target->type_name());
    return std::make_shared<ParamWrapper>(
        unary, adapter, *parameter_name, config, rank, alpha, target_name);
  }
  if (unary != nullptr) {
    if (dynamic_cast<nn::Embedding*>(base.get()) != nullptr) {
      return std::make_shared<Embedding>(unary, adapter, config, rank, alpha, target_name);
    }
    if (dynamic_cast<nn::Conv2d*>(base.get()) != nullptr ||
        dynamic_cast<nn::Conv1d*>(base.get()) != nullptr) {
      return std::make_shared<ConvNd>(unary, adapter, config, rank, alpha, target_name);
    }
    if (dynamic_cast<nn::Linear*>(base.get()) != nullptr) {
      if (config.fan_in_fan_out) {
        std::cerr << "[lora] warning: fan_in_fan_out is set to True but the target module is "
                     "`torch.nn.Linear`. Setting fan_in_fan_out to False.\n";
        config.fan_in_fan_out = false;
      }
      return std::make_shared<Linear>(unary, adapter, config, rank, alpha, target_name);
    }
    if (dynamic_cast<nn::Conv1D*>(base.get()) != nullptr) {
      if (!config.fan_in_fan_out) {
        std::cerr << "[lora] warning: fan_in_fan_out is set to False but the target module is "
                     "`Conv1D`. Setting fan_in_fan_out to True.\n";
        config.fan_in_fan_out = true;
      }
      return std::make_shared<Linear>(unary, adapter, config, rank, alpha, target_name, true);
    }
  }
  throw ValueError(detail::concat(
      "[lora] target module ",
      target_name,
      " (",
      base->type_name(),
      ") is not supported. Currently, only the following modules are supported: `torch.nn.Linear`, "
      "`torch.nn.Embedding`, `torch.nn.Conv1d`, `torch.nn.Conv2d`, "
      "`transformers.pytorch_utils.Conv1D`."));
}

void LoraModel::create_and_replace(
    PeftConfig& config,
    const std::string& adapter,
    const nn::ModulePtr& target,
    const std::string& current_key,
    const std::optional<std::string>& parameter_name) {
  auto& c = config.as<LoraConfig>();
  const std::string r_key = get_pattern_key(object_keys(c.rank_pattern), current_key);
  const std::string a_key = get_pattern_key(object_keys(c.alpha_pattern), current_key);
  const Json* rp = c.rank_pattern.is_object() ? c.rank_pattern.find(r_key) : nullptr;
  const Json* ap = c.alpha_pattern.is_object() ? c.alpha_pattern.find(a_key) : nullptr;
  const int rank = rp != nullptr ? static_cast<int>(rp->as_int()) : c.r;
  const double alpha = ap != nullptr ? ap->as_double() : static_cast<double>(c.lora_alpha);

  auto* existing = dynamic_cast<LoraLayer*>(target.get());
  auto* pw = dynamic_cast<ParamWrapper*>(target.get());
  const bool wrap_param = pw != nullptr && pw->lora_A().contains(adapter);
  if (existing != nullptr && !wrap_param) {
    existing->update_layer(adapter, rank, alpha, c, current_key);
    record_updated_layer(existing);
    return;
  }
  PEFTCPP_CHECK(
      !(pw != nullptr && parameter_name && *parameter_name == *pw->wrapped_parameter_name()),
      "[lora] trying to target the same nn.Parameter twice (",
      current_key,
      ")");
  std::shared_ptr<LoraLayer> layer =
      create_new_module(c, adapter, target, rank, alpha, current_key, parameter_name);
  const AdapterNames& active = active_adapters();
  if (std::find(active.begin(), active.end(), adapter) == active.end())
    layer->requires_grad_(false);
  replace_module(current_key, layer);
}

nn::StateDict LoraModel::adapter_state_dict(
    nn::Module& root,
    const PeftConfig& config,
    const std::string& adapter,
    const nn::StateDict& state) const {
  nn::StateDict out = BaseTuner::adapter_state_dict(root, config, adapter, state);
  if (!config.as<LoraConfig>().use_dora)
    return out;
  const std::string suffix = "lora_magnitude_vector." + adapter + ".weight";
  nn::StateDict renamed;
  for (auto& [k, v] : out) {
    renamed[k.ends_with(suffix) ? k.substr(0, k.size() - 7) : k] = v;
  }
  return renamed;
}

nn::StateDict LoraModel::remap_adapter_state_dict_for_load(
    nn::Module& root,
    const PeftConfig& config,
    const std::string& adapter,
    const nn::StateDict& state) const {
  nn::StateDict renamed;
  for (const auto& [k, v] : state) {
    renamed[k.ends_with("lora_magnitude_vector") ? k + ".weight" : k] = v;
  }
  return BaseTuner::remap_adapter_state_dict_for_load(root, config, adapter, renamed);
}

void LoraModel::check_forward_adapter_names(const AdapterNames& names) const {
  std::set<std::string> known;
  for (const auto& [key, m] : model_->named_modules()) {
    if (auto* l = dynamic_cast<LoraLayer*>(m.get())) {
      for (const std::string& k : l->lora_A().keys()) known.insert(k);
      for (const std::string& k : l->lora_embedding_A().keys()) known.insert(k);
    }
  }
  std::set<std::string> unknown;
  for (const std::string& n : names) {
    if (n != "__base__" && !known.count(n))
      unknown.insert(n);
  }
  if (!unknown.empty()) {
    std::string s;
    for (const std::string& n : unknown) s += (s.empty() ? "" : ", ") + n;
    throw ValueError("[lora] trying to infer with non-existing adapter(s): " + s);
  }
}

std::shared_ptr<BaseTuner> make_lora_model(nn::ModulePtr model) {
  return std::make_shared<LoraModel>(std::move(model));
}

}  // namespace peftcpp::lora
