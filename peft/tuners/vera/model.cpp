// VeraModel (port of peft/tuners/vera/model.py @5d602fd; quantized base layers are not ported).
#include "peft/tuners/vera/model.h"

#include <algorithm>
#include <iostream>
#include <set>

#include "nn/layers/linear.h"
#include "peft/tuners/vera/projection.h"
#include "tensor/error.h"

namespace peftcpp::vera {
namespace {

// (in, out) of a layer VeRA can adapt; nullopt for other modules.
std::optional<std::pair<std::int64_t, std::int64_t>> linear_dims(const nn::Module& m) {
  if (const auto* l = dynamic_cast<const nn::Linear*>(&m))
    return std::pair{l->in_features, l->out_features};
  if (const auto* c = dynamic_cast<const nn::Conv1D*>(&m))
    return std::pair{c->nx, c->nf};
  return std::nullopt;
}

}  // namespace

VeraModel::VeraModel(nn::ModulePtr model)
    : BaseTuner(std::move(model)),
      vera_A_(std::make_shared<BufferDict>()),
      vera_B_(std::make_shared<BufferDict>()) {
  register_module("vera_A", &vera_A_);
  register_module("vera_B", &vera_B_);
}

TargetFields VeraModel::target_fields(PeftConfig& config) const {
  auto& c = config.as<VeraConfig>();
  TargetFields f;
  f.target_modules = &c.target_modules;
  f.modules_to_save = &c.modules_to_save;
  f.layers_to_transform = &c.layers_to_transform;
  f.layers_pattern = &c.layers_pattern;
  return f;
}

std::string VeraModel::bias_of(const PeftConfig& config) const {
  return config.as<VeraConfig>().bias;
}

void VeraModel::prepare_adapter_config(PeftConfig& config, const HfConfig* model_config) {
  auto& c = config.as<VeraConfig>();
  if (!c.target_modules.is_none())
    return;
  const std::string model_type =
      model_config != nullptr ? std::string(model_config->model_type()) : "custom";
  c.target_modules = default_vera_target_modules(model_type);
  PEFTCPP_CHECK(
      !c.target_modules.is_none(),
      "[vera] Please specify `target_modules` in "
      "`peft_config` (no default for model type '",
      model_type,
      "')");
}

std::pair<std::int64_t, std::int64_t> VeraModel::find_dim(const PeftConfig& config) {
  std::unique_ptr<PeftConfig> copy = config.clone();
  TargetFields f = target_fields(*copy);
  expand_all_linear(f, *model_, copy->task_type == TaskType::SEQ_CLS);
  std::optional<std::pair<std::int64_t, std::int64_t>> largest;  // (out, in)
  for (const auto& [key, m] : model_->named_modules()) {
    if (key.empty() || check_target_module_exists(*copy, key) != TargetMatch::Match)
      continue;
    const auto dims = linear_dims(*m);
    if (!dims)
      continue;
    if (!largest) {
      largest = std::pair{dims->second, dims->first};
    } else {
      largest =
          std::pair{std::max(largest->first, dims->second), std::max(largest->second, dims->first)};
    }
  }
  PEFTCPP_CHECK(
      largest.has_value(),
      "[vera] No layers types compatible with VeRA were found. "
      "Please check `peft_config.target_modules`.");
  return *largest;
}

void VeraModel::prepare_model(PeftConfig& config, nn::Module& /*model*/) {
  std::string adapter;
  for (const auto& [name, cfg] : configs_) {
    if (cfg.get() == &config)
      adapter = name;
  }
  // Entries of adapters that no longer exist (or of this one, which has no layers yet) are left
  // over from an injection that failed: drop them.
  const std::vector<std::string> known = adapter_names();
  for (const std::shared_ptr<BufferDict>& d : {vera_A_, vera_B_}) {
    for (const std::string& k : d->keys()) {
      if (k == adapter || std::find(known.begin(), known.end(), k) == known.end())
        d->pop(k);
    }
  }
  // PEFT draws the projections once, before the first adapter is injected
  if (!vera_A_->keys().empty())
    return;
  const auto& c = config.as<VeraConfig>();
  const auto [out_dim, in_dim] = find_dim(config);
  auto [a, b] = make_projections(c.projection_prng_key, c.r, in_dim, out_dim);
  // non-persistent dicts keep the projections out of the state dict (save_projection=False)
  replace_child("vera_A", std::make_shared<BufferDict>(c.save_projection));
  replace_child("vera_B", std::make_shared<BufferDict>(c.save_projection));
  vera_A_->insert(adapter, std::move(a));
  vera_B_->insert(adapter, std::move(b));
}

void VeraModel::check_new_adapter_config(const PeftConfig& config) const {
  BaseTuner::check_new_adapter_config(config);
  const auto& c = config.as<VeraConfig>();
  std::set<bool> save_projection;
  for (const auto& [name, other] : configs_) {
    const auto& o = other->as<VeraConfig>();
    save_projection.insert(o.save_projection);
    if (other.get() == &config)
      continue;
    PEFTCPP_CHECK(
        o.projection_prng_key == c.projection_prng_key,
        "[vera] Vera PRNG initialisation "
        "key must be the same for all adapters. Got config.projection_prng_key=",
        c.projection_prng_key,
        " but previous config had ",
        o.projection_prng_key,
        ".");
  }
  PEFTCPP_CHECK(
      save_projection.size() <= 1,
      "[vera] VeRA projection weights must be saved for all "
      "adapters or none, but got multiple different values: [False, True]");
}

std::shared_ptr<VeraLayer> create_new_module(
    VeraConfig& config,
    const std::shared_ptr<BufferDict>& vera_A,
    const std::shared_ptr<BufferDict>& vera_B,
    const std::string& adapter,
    const nn::ModulePtr& target) {
  nn::ModulePtr base = target;
  if (auto* t = dynamic_cast<BaseTunerLayer*>(target.get()))
    base = t->get_base_layer();
  auto unary = std::dynamic_pointer_cast<nn::UnaryModule>(target);
  if (unary == nullptr || !linear_dims(*base)) {
    throw ValueError(detail::concat(
        "[vera] Target module ",
        target->type_name(),
        " is not supported. Currently, only "
        "`torch.nn.Linear` (optionally quantized) and `transformers.pytorch_utils.Conv1D` are "
        "supported."));
  }
  const bool conv1d = dynamic_cast<nn::Conv1D*>(base.get()) != nullptr;
  if (conv1d && !config.fan_in_fan_out) {
    std::cerr
        << "[vera] warning: fan_in_fan_out is set to False but the target module is `Conv1D`. "
           "Setting fan_in_fan_out to True.\n";
    config.fan_in_fan_out = true;
  } else if (!conv1d && config.fan_in_fan_out) {
    std::cerr << "[vera] warning: fan_in_fan_out is set to True but the target module is "
                 "`torch.nn.Linear`. Setting fan_in_fan_out to False.\n";
    config.fan_in_fan_out = false;
  }
  return std::make_shared<Linear>(unary, vera_A, vera_B, adapter, config, config.r, conv1d);
}

void VeraModel::create_and_replace(
    PeftConfig& config,
    const std::string& adapter,
    const nn::ModulePtr& target,
    const std::string& current_key,
    const std::optional<std::string>& /*parameter_name*/) {
  auto& c = config.as<VeraConfig>();
  if (auto* existing = dynamic_cast<Linear*>(target.get())) {
    existing->update_layer(adapter, vera_A_, vera_B_, c.r, c);
    record_updated_layer(existing);
    return;
  }
  std::shared_ptr<VeraLayer> layer = create_new_module(c, vera_A_, vera_B_, adapter, target);
  const AdapterNames& active = active_adapters();
  if (std::find(active.begin(), active.end(), adapter) == active.end())
    layer->requires_grad_(false);
  replace_module(current_key, layer);
}

void VeraModel::check_forward_adapter_names(const AdapterNames& /*names*/) const {
  throw ValueError(
      "[vera] VeraModel does not support per-sample `adapter_names` (mixed-adapter "
      "batches are a LoRA feature)");
}

std::string VeraModel::name_in(nn::Module& root) const {
  for (const auto& [name, m] : root.named_modules()) {
    if (m.get() == this)
      return name;
  }
  throw ValueError("[vera] the VeraModel is not part of the module whose state dict is handled");
}

nn::StateDict VeraModel::adapter_state_dict(
    nn::Module& root,
    const PeftConfig& config,
    const std::string& adapter,
    const nn::StateDict& state) const {
  nn::StateDict out;
  for (auto& [k, v] : BaseTuner::adapter_state_dict(root, config, adapter, state)) {
    if (k.find(".vera_A.") == std::string::npos && k.find(".vera_B.") == std::string::npos) {
      out.emplace(k, v);
    }
  }
  if (!config.as<VeraConfig>().save_projection)
    return out;
  const std::string self = name_in(root);
  const std::string p = self.empty() ? "" : self + ".";
  auto a = state.find(p + "vera_A." + adapter);
  auto b = state.find(p + "vera_B." + adapter);
  PEFTCPP_CHECK(
      a != state.end() && b != state.end(),
      "[vera] Model was initialised to not save "
      "vera_A and vera_B but config now specifies to save projection! Set "
      "`config.save_projection` to `False`.");
  out.emplace(a->first, a->second);
  out.emplace(b->first, b->second);
  return out;
}

nn::StateDict VeraModel::remap_adapter_state_dict_for_load(
    nn::Module& root,
    const PeftConfig& config,
    const std::string& adapter,
    const nn::StateDict& state) const {
  nn::StateDict out = BaseTuner::remap_adapter_state_dict_for_load(root, config, adapter, state);
  const std::string self = name_in(root);
  const std::string p = self.empty() ? "" : self + ".";
  if (config.as<VeraConfig>().save_projection) {
    PEFTCPP_CHECK(
        out.count(p + "vera_A." + adapter) != 0 && out.count(p + "vera_B." + adapter) != 0,
        "[vera] Specified to load vera_A and vera_B from state dictionary however they "
        "were not present!");
  } else if (out.count(p + "vera_A") != 0) {
    std::cerr << "[vera] warning: specified to not load vera_A and vera_B from state dictionary "
                 "however they are present in state dictionary! Consider using them to ensure "
                 "checkpoint loading is correct on all platforms using "
                 "`peft_config.save_projection = True`\n";
  } else {
    std::cerr << "[vera] warning: specified to not load vera_A and vera_B from state dictionary. "
                 "This means we will be relying on PRNG initialisation to restore these "
                 "projections using `config.projection_prng_key`, which may not be accurate on all "
                 "system configurations.\n";
  }
  return out;
}

std::shared_ptr<BaseTuner> make_vera_model(nn::ModulePtr model) {
  return std::make_shared<VeraModel>(std::move(model));
}

}  // namespace peftcpp::vera
