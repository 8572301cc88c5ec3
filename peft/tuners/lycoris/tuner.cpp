// LycorisTuner (port of LycorisTuner in peft/tuners/lycoris_utils.py and _create_and_replace of
// peft/tuners/{loha,lokr}/model.py @5d602fd).
#include "peft/tuners/lycoris/tuner.h"

#include "peft/utils/constants.h"

#include <map>

#include "tensor/error.h"

namespace peftcpp::lycoris {
namespace {

std::vector<std::string> object_keys(const Json& j) {
  std::vector<std::string> out;
  if (!j.is_object())
    return out;
  for (const auto& [k, v] : j.as_object()) out.push_back(k);
  return out;
}

LycorisConfig& lycoris_config(PeftConfig& config, const std::string& method) {
  auto* c = dynamic_cast<LycorisConfig*>(&config);
  PEFTCPP_CHECK(
      c != nullptr,
      "[",
      method,
      "] expected a LyCORIS config (LoHaConfig / LoKrConfig), "
      "got ",
      config.class_name());
  return *c;
}

}  // namespace

std::pair<int, double> rank_and_alpha(const LycorisConfig& config, const std::string& key) {
  const std::string r_key = get_pattern_key(object_keys(config.rank_pattern), key);
  const std::string a_key = get_pattern_key(object_keys(config.alpha_pattern), key);
  const Json* rp = config.rank_pattern.is_object() ? config.rank_pattern.find(r_key) : nullptr;
  const Json* ap = config.alpha_pattern.is_object() ? config.alpha_pattern.find(a_key) : nullptr;
  const int rank = rp != nullptr ? static_cast<int>(rp->as_int()) : config.r;
  const double alpha = ap != nullptr ? ap->as_double() : static_cast<double>(config.alpha);
  return {rank, alpha};
}

TargetFields LycorisTuner::target_fields(PeftConfig& config) const {
  LycorisConfig& c = lycoris_config(config, method_name());
  TargetFields f;
  f.target_modules = &c.target_modules;
  f.exclude_modules = &c.exclude_modules;
  f.modules_to_save = &c.modules_to_save;
  f.layers_to_transform = &c.layers_to_transform;
  f.layers_pattern = &c.layers_pattern;
  return f;
}

std::vector<std::string> LycorisTuner::default_target_modules(const std::string& model_type) const {
  return lora_default_target_modules(model_type);
}

void LycorisTuner::create_and_replace(
    PeftConfig& config,
    const std::string& adapter,
    const nn::ModulePtr& target,
    const std::string& current_key,
    const std::optional<std::string>& /*parameter_name*/) {
  const LycorisConfig& c = lycoris_config(config, method_name());
  const auto [rank, alpha] = rank_and_alpha(c, current_key);
  if (is_tuner_layer(*target)) {
    auto& layer = static_cast<LycorisLayer&>(*target);
    layer.update_layer(adapter, rank, alpha, c);
    record_updated_layer(&layer);
    return;
  }
  nn::ModulePtr base = target;
  if (auto* t = dynamic_cast<BaseTunerLayer*>(target.get()))
    base = t->get_base_layer();
  auto unary = std::dynamic_pointer_cast<nn::UnaryModule>(target);
  if (unary == nullptr || !base_kind_of(*base)) {
    throw ValueError(detail::concat(
        "[",
        method_name(),
        "] target module ",
        current_key,
        " of type ",
        base->type_name(),
        " not supported, currently only adapters for "
        "Conv2d, Conv1d, Linear are supported"));
  }
  replace_module(current_key, make_layer(unary, adapter, c, rank, alpha));
}

void LycorisTuner::check_forward_adapter_names(const AdapterNames& /*names*/) const {
  throw ValueError(detail::concat(
      "[",
      method_name(),
      "] mixed-adapter batches (`adapter_names`) "
      "are only supported by LoRA"));
}

}  // namespace peftcpp::lycoris
