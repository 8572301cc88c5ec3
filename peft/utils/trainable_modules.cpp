// _set_trainable / _set_adapter / set_additional_trainable_modules (port of peft/utils/other.py
// @5d602fd).
#include "peft/utils/trainable_modules.h"

#include <functional>
#include <set>

#include "models/model.h"
#include "peft/tuners/trainable_tokens/layer.h"
#include "peft/utils/auxiliary.h"
#include "tensor/error.h"

namespace peftcpp {
namespace {

using MakeWrapper = std::function<nn::ModulePtr(std::shared_ptr<nn::UnaryModule>)>;
using UpdateWrapper = std::function<void(AuxiliaryTrainingWrapper&)>;

template <class Wrapper>
void set_trainable(
    nn::Module& model,
    const std::string& adapter,
    const std::vector<std::string>& module_names,
    bool inference_mode,
    bool activate_adapter,
    bool strict,
    const MakeWrapper& make,
    const UpdateWrapper& update) {
  if (module_names.empty())
    return;
  std::vector<std::string> keys;
  for (const auto& [k, m] : model.named_modules()) keys.push_back(k);
  std::set<std::string> found;
  for (const std::string& key : keys) {
    bool hit = false;
    for (const std::string& t : module_names) hit = hit || key.ends_with(t);
    if (!hit || key.empty())
      continue;
    const auto dot = key.rfind('.');
    const std::string parent_key = dot == std::string::npos ? "" : key.substr(0, dot);
    const std::string target_name = dot == std::string::npos ? key : key.substr(dot + 1);
    nn::ModulePtr target;
    try {
      target = model.get_submodule(key);  // gone when an ancestor was wrapped meanwhile
    } catch (const ValueError&) {
      continue;
    }
    nn::ModulePtr parent = model.get_submodule(parent_key);
    nn::ModulePtr grandparent;
    if (!parent_key.empty()) {
      const auto d2 = parent_key.rfind('.');
      grandparent = model.get_submodule(d2 == std::string::npos ? "" : parent_key.substr(0, d2));
    }
    if (grandparent && dynamic_cast<BaseTunerLayer*>(grandparent.get()) != nullptr) {
      throw ValueError(detail::concat(
          "[peft] you are trying to target a module (",
          key,
          ") that is a child of a tuner layer (",
          grandparent->type_name(),
          "). Make sure that the adapter name '",
          adapter,
          "' does not conflict with any of the targeted modules."));
    }
    if (auto* w = dynamic_cast<Wrapper*>(grandparent.get())) {
      update(*w);
      w->set_adapter(w->active_adapters(), inference_mode);
    } else if (auto* wt = dynamic_cast<Wrapper*>(target.get())) {
      update(*wt);
      wt->set_adapter(wt->active_adapters(), inference_mode);
    } else {
      auto unary = std::dynamic_pointer_cast<nn::UnaryModule>(target);
      PEFTCPP_CHECK(
          unary != nullptr,
          "[peft] cannot wrap '",
          key,
          "' (",
          target->type_name(),
          "): it is not a one-input module");
      nn::ModulePtr w = make(unary);
      auto* aux = dynamic_cast<AuxiliaryTrainingWrapper*>(w.get());
      if (activate_adapter) {
        aux->set_adapter({adapter}, inference_mode);
      } else {
        aux->set_adapter({}, inference_mode);
      }
      model.replace_child(key, w);
    }
    found.insert(target_name);
  }
  if (strict && found.empty()) {
    std::string names;
    for (const std::string& n : module_names) names += (names.empty() ? "" : ", ") + n;
    throw ValueError(detail::concat(
        "[peft] target modules {",
        names,
        "} not found in the base model. Please check the target "
        "modules and try again."));
  }
}

std::string input_embeddings_name(nn::Module& model) {
  if (auto* pm = dynamic_cast<models::PreTrainedModel*>(&model)) {
    nn::ModulePtr emb = pm->input_embeddings();
    for (const auto& [name, m] : model.named_modules()) {
      if (m == emb)
        return name;
    }
  }
  return "embed_tokens";
}

// PEFT's _get_module_names_tied_with_embedding for transformers models: the modules whose weight
// is tied to the input embedding (e.g. lm_head), empty when tie_word_embeddings is false.
std::vector<std::string> module_names_tied_with_embedding(nn::Module& model) {
  auto* pm = dynamic_cast<models::PreTrainedModel*>(&model);
  if (pm == nullptr || !pm->config().tie_word_embeddings)
    return {};
  std::set<std::string> names;
  for (const auto& [tied, source] : pm->tied_weights()) {
    const auto dot = tied.rfind('.');
    names.insert(dot == std::string::npos ? std::string() : tied.substr(0, dot));
  }
  return {names.begin(), names.end()};
}

std::vector<std::int64_t> ids_of(const Json& j) {
  std::vector<std::int64_t> out;
  for (const Json& e : j.as_array()) out.push_back(e.as_int());
  return out;
}

}  // namespace

void set_modules_to_save(
    nn::Module& model,
    const std::string& adapter,
    const std::vector<std::string>& module_names,
    bool inference_mode,
    bool activate_adapter,
    bool strict) {
  set_trainable<ModulesToSaveWrapper>(
      model,
      adapter,
      module_names,
      inference_mode,
      activate_adapter,
      strict,
      [&](std::shared_ptr<nn::UnaryModule> m) {
        return std::make_shared<ModulesToSaveWrapper>(std::move(m), adapter);
      },
      [&](AuxiliaryTrainingWrapper& w) { w.update(adapter); });
}

void set_trainable_tokens(
    nn::Module& model,
    const std::string& adapter,
    const std::string& module_name,
    const std::vector<std::int64_t>& token_indices,
    bool inference_mode,
    bool activate_adapter,
    const std::shared_ptr<TrainableTokensLayer>& tied) {
  set_trainable<TrainableTokensWrapper>(
      model,
      adapter,
      {module_name},
      inference_mode,
      activate_adapter,
      true,
      [&](std::shared_ptr<nn::UnaryModule> m) {
        return std::make_shared<TrainableTokensWrapper>(std::move(m), adapter, token_indices, tied);
      },
      [&](AuxiliaryTrainingWrapper& w) {
        static_cast<TrainableTokensWrapper&>(w).update_tokens(adapter, token_indices);
      });
}

void set_additional_trainable_modules(
    nn::Module& model,
    const TargetFields& fields,
    const std::string& adapter,
    bool inference_mode,
    bool activate_adapter) {
  if (fields.modules_to_save != nullptr && fields.modules_to_save->has_value()) {
    set_modules_to_save(model, adapter, **fields.modules_to_save, inference_mode, activate_adapter);
  }
  if (fields.trainable_token_indices == nullptr || fields.trainable_token_indices->is_null())
    return;
  const Json& tti = *fields.trainable_token_indices;
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> targets;
  if (tti.is_object()) {
    for (const auto& [k, v] : tti.as_object()) targets.emplace_back(k, ids_of(v));
  } else {
    targets.emplace_back(input_embeddings_name(model), ids_of(tti));
  }
  if (fields.modules_to_save != nullptr && fields.modules_to_save->has_value()) {
    for (const auto& [name, ids] : targets) {
      for (const std::string& m : **fields.modules_to_save) {
        PEFTCPP_CHECK(
            m != name,
            "[peft] the embedding layer '",
            name,
            "' is already marked to be "
            "trained fully (modules_to_save); use modules_to_save or "
            "trainable_token_indices for it, not both");
      }
    }
  }
  // Weight tying (transformers models with tie_word_embeddings): modules whose weight is the input
  // embedding's (the LM head) follow the embedding's token adapter instead of getting their own.
  const std::vector<std::string> tied_names = module_names_tied_with_embedding(model);
  const std::string emb_name = input_embeddings_name(model);
  const bool ensure = fields.ensure_weight_tying != nullptr && *fields.ensure_weight_tying;
  std::set<std::string> skip;
  bool mismatch = false;
  if (targets.size() > 1 && !tied_names.empty()) {
    std::vector<const std::vector<std::int64_t>*> tied_ids;
    std::vector<std::string> tied_keys;
    for (const auto& [name, ids] : targets) {
      bool tied = emb_name.ends_with(name);
      for (const std::string& t : tied_names) tied = tied || t.ends_with(name);
      if (tied) {
        tied_keys.push_back(name);
        tied_ids.push_back(&ids);
      }
    }
    if (tied_keys.size() >= 2) {
      for (const auto* ids : tied_ids) mismatch = mismatch || *ids != *tied_ids.front();
      PEFTCPP_CHECK(
          !(mismatch && ensure),
          "[peft] cannot ensure weight tying when different token indices are specified for tied "
          "layers; use the same indices or set ensure_weight_tying=false");
      if (!mismatch) {
        for (const std::string& k : tied_keys) {
          if (std::find(tied_names.begin(), tied_names.end(), k) != tied_names.end())
            skip.insert(k);
        }
      }
    }
  }
  for (const auto& [name, ids] : targets) {
    if (skip.count(name))
      continue;
    set_trainable_tokens(model, adapter, name, ids, inference_mode, activate_adapter);
  }
  if (tied_names.empty() || (mismatch && !ensure))
    return;
  nn::ModulePtr emb;
  try {
    emb = model.get_submodule(emb_name);
  } catch (const ValueError&) {
    return;
  }
  auto* wrapper = dynamic_cast<TrainableTokensWrapper*>(emb.get());
  if (wrapper == nullptr)
    return;
  const std::shared_ptr<TrainableTokensLayer>& source = wrapper->token_adapter();
  for (const std::string& name : tied_names) {
    set_trainable_tokens(
        model,
        adapter,
        name,
        source->token_indices(adapter),
        inference_mode,
        activate_adapter,
        source);
  }
}

void set_auxiliary_adapter(nn::Module& model, const AdapterNames& names, bool inference_mode) {
  for (const auto& [key, m] : model.named_modules()) {
    auto* w = dynamic_cast<AuxiliaryTrainingWrapper*>(m.get());
    if (w == nullptr)
      continue;
    const std::optional<std::string> to_set = w->check_set_adapter(names);
    if (to_set && w->adapters().count(*to_set)) {
      w->set_adapter({*to_set}, inference_mode);
    } else {
      w->set_adapter({}, inference_mode);
    }
  }
}

}  // namespace peftcpp
