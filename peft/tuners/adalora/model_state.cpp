// AdaLoraModel state dicts and rank patterns (port of _get_adapter_state_dict,
// _remap_adapter_state_dict_for_load, resize_modules_by_rank_pattern and
// resize_state_dict_by_rank_pattern in peft/tuners/adalora/model.py @5d602fd).
#include <vector>

#include "autograd/grad_mode.h"
#include "peft/tuners/adalora/model.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::adalora {
namespace {

// The kept positions of one rank_pattern entry (a list of booleans).
std::vector<std::int64_t> kept_indices(const std::string& name, const Json& mask) {
  PEFTCPP_CHECK(
      mask.is_array(), "[adalora] rank_pattern['", name, "'] should be a list of booleans");
  std::vector<std::int64_t> out;
  const JsonArray& items = mask.as_array();
  for (std::size_t i = 0; i < items.size(); ++i) {
    PEFTCPP_CHECK(
        items[i].is_bool(),
        "[adalora] rank_pattern['",
        name,
        "'] should be a list of booleans, got ",
        mask.dump());
    if (items[i].as_bool())
      out.push_back(static_cast<std::int64_t>(i));
  }
  return out;
}

Tensor index_tensor(const std::vector<std::int64_t>& idx) {
  return tensor<std::int64_t>(idx, {static_cast<std::int64_t>(idx.size())});
}

// Rows (dim 0) or columns (dim 1) of `t` kept by the mask `m` of `name`.
Tensor keep(const Tensor& t, std::int64_t dim, const std::string& name, const Json& m) {
  PEFTCPP_CHECK(
      static_cast<std::int64_t>(m.as_array().size()) == t.size(dim),
      "[adalora] rank_pattern['",
      name,
      "'] has ",
      m.as_array().size(),
      " entries but the adapter has rank ",
      t.size(dim));
  return index_select(t, dim, index_tensor(kept_indices(name, m)));
}

// The layer path of a rank_pattern key: "<layer>.lora_E.<adapter>" or "<layer>.lora_E".
std::string layer_of(const std::string& name, const std::string& adapter) {
  const std::size_t drop = name.find(adapter) != std::string::npos ? 2 : 1;
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', start)) {
    parts.push_back(name.substr(start, dot - start));
    start = dot + 1;
  }
  parts.push_back(name.substr(start));
  std::string out;
  for (std::size_t i = 0; i + drop < parts.size(); ++i) out += (i ? "." : "") + parts[i];
  return out;
}

}  // namespace

nn::StateDict AdaLoraModel::adapter_state_dict(
    nn::Module& root,
    const PeftConfig& config,
    const std::string& adapter,
    const nn::StateDict& state) const {
  nn::StateDict out = lora::LoraModel::adapter_state_dict(root, config, adapter, state);
  const std::string ranknum = ".ranknum." + adapter;
  std::erase_if(out, [&](const auto& kv) { return kv.first.ends_with(ranknum); });
  const Json& rank_pattern = config.as<AdaLoraConfig>().rank_pattern;
  if (rank_pattern.is_null())
    return out;
  Json truncated = Json::object();
  for (const auto& [k, v] : rank_pattern.as_object()) {
    truncated.as_object().set(replace_all(k, "." + adapter, ""), v);
  }
  // PEFT rewrites the adapter's config in place, so the saved adapter_config.json has the keys
  // without the adapter name
  if (has_adapter(adapter) && &peft_config(adapter) == &config) {
    peft_config(adapter).as<AdaLoraConfig>().rank_pattern = truncated;
  }
  return resize_state_dict_by_rank_pattern(truncated, std::move(out), adapter);
}

nn::StateDict AdaLoraModel::remap_adapter_state_dict_for_load(
    nn::Module& root,
    const PeftConfig& config,
    const std::string& adapter,
    const nn::StateDict& state) const {
  // LoRA's DoRA renaming does not apply: the BaseTuner mapping
  nn::StateDict out = BaseTuner::remap_adapter_state_dict_for_load(root, config, adapter, state);
  const Json& rank_pattern = config.as<AdaLoraConfig>().rank_pattern;
  if (!rank_pattern.is_null()) {
    // loading shrinks the layers, as PEFT's hook does; the tuner itself is not const
    const_cast<AdaLoraModel*>(this)->resize_modules_by_rank_pattern(rank_pattern, adapter);
  }
  return out;
}

void AdaLoraModel::resize_modules_by_rank_pattern(
    const Json& rank_pattern, const std::string& adapter) {
  PEFTCPP_CHECK(
      rank_pattern.is_object(),
      "[adalora] rank_pattern should be an object, got ",
      rank_pattern.dump());
  const auto& config = peft_config(adapter).as<AdaLoraConfig>();
  for (const auto& [name, mask] : rank_pattern.as_object()) {
    const std::vector<std::int64_t> kept = kept_indices(name, mask);
    const auto rank = static_cast<int>(kept.size());
    const std::string key = layer_of(name, adapter);
    auto* target = dynamic_cast<AdaLoraLayer*>(model_->get_submodule(key).get());
    PEFTCPP_CHECK(
        target != nullptr && target->lora_A().contains(adapter),
        "[adalora] rank_pattern names '",
        name,
        "' but '",
        key,
        "' is no AdaLoRA layer with adapter '",
        adapter,
        "'");
    const Tensor e = keep(target->lora_E().at(adapter).detach(), 0, name, mask);
    const Tensor a = keep(target->lora_A().at(adapter).detach(), 0, name, mask);
    const Tensor b = keep(target->lora_B().at(adapter).detach(), 1, name, mask);
    const Tensor ranknum = target->ranknum().at(adapter).detach().clone();
    target->update_layer(adapter, rank, config.lora_alpha, config);
    if (rank > 0) {
      NoGradGuard g;
      target->lora_E().at(adapter).copy_(e);
      target->lora_A().at(adapter).copy_(a);
      target->lora_B().at(adapter).copy_(b);
      target->ranknum().at(adapter).copy_(ranknum);
    }
  }
}

nn::StateDict AdaLoraModel::resize_state_dict_by_rank_pattern(
    const Json& rank_pattern, nn::StateDict state, const std::string& adapter) const {
  for (const auto& [name, mask] : rank_pattern.as_object()) {
    const auto rank = static_cast<std::int64_t>(kept_indices(name, mask).size());
    const std::string prefix = layer_of(name, adapter);
    for (const char* layer : {"lora_E", "lora_A", "lora_B"}) {
      const std::string key = "base_model.model." + prefix + "." + layer + "." + adapter;
      auto it = state.find(key);
      PEFTCPP_CHECK(
          it != state.end(),
          "[adalora] rank_pattern names '",
          name,
          "' but there is no '",
          key,
          "'");
      const std::int64_t dim = std::string(layer) == "lora_B" ? 1 : 0;
      if (rank != it->second.size(dim))
        it->second = keep(it->second, dim, name, mask);
    }
  }
  return state;
}

}  // namespace peftcpp::adalora
