// get_peft_model_state_dict / set_peft_model_state_dict / load_peft_weights (port of
// peft/utils/save_and_load.py @5d602fd).
#include "peft/utils/save_and_load.h"

#include <iostream>

#include "models/model.h"
#include "peft/peft_model.h"
#include "peft/tuners/base_tuner.h"
#include "peft/utils/auxiliary.h"
#include "peft/utils/regex.h"
#include "tensor/error.h"

namespace peftcpp {
namespace {

const std::vector<std::string> kEmbeddingLayerNames = {"embed_tokens", "lm_head"};

bool embedding_is_targeted(PeftModel& model, PeftConfig& config) {
  const TargetFields f = model.base_model().target_fields(config);
  if (f.target_modules == nullptr)
    return false;
  const ModuleNames& t = *f.target_modules;
  if (t.is_string()) {
    if (t.pattern() == "all-linear")
      return false;
    for (const auto& [k, m] : model.get_base_model()->named_modules()) {
      bool emb = false;
      for (const std::string& e : kEmbeddingLayerNames)
        emb = emb || pyre::match("(.*\\.)?" + e + "$", k);
      if (emb && pyre::fullmatch(t.pattern(), k))
        return true;
    }
    return false;
  }
  for (const std::string& e : kEmbeddingLayerNames) {
    for (const std::string& n : t.names()) {
      if (n == e)
        return true;
    }
  }
  return false;
}

// The module of `model` (a PeftModel root) that is `layer`, or its base_layer when targeted.
std::string embedding_layer_name(PeftModel& model, const nn::ModulePtr& layer, bool targeted) {
  nn::ModulePtr base;
  if (auto* t = dynamic_cast<BaseTunerLayer*>(layer.get()))
    base = t->base_layer();
  for (const auto& [name, m] : model.named_modules()) {
    if ((!targeted && m == layer) || (base && m == base))
      return name;
  }
  return "";
}

}  // namespace

nn::StateDict get_peft_model_state_dict(
    PeftModel& model, const std::string& adapter, SaveEmbeddingLayers save_embedding_layers) {
  PeftConfig& config = model.peft_config(adapter);
  BaseTuner& tuner = model.base_model();
  nn::StateDict state = model.state_dict();
  std::vector<std::string> unwanted;
  for (const std::string& n : tuner.adapter_names()) {
    if (n != adapter)
      unwanted.push_back(n);
  }
  nn::StateDict filtered;
  for (const auto& [k, v] : state) {
    bool other = false;
    for (const std::string& u : unwanted) {
      other = other || k.find("." + u + ".") != std::string::npos || k.ends_with("." + u);
    }
    if (!other)
      filtered.emplace(k, v);
  }
  if (!filtered.empty())
    state = std::move(filtered);

  nn::StateDict out = tuner.adapter_state_dict(model, config, adapter, state);

  for (const auto& [name, m] : model.named_modules()) {
    auto* w = dynamic_cast<AuxiliaryTrainingWrapper*>(m.get());
    if (w == nullptr)
      continue;
    for (const auto& [saved, inmem] : w->adapter_state_dict_load_map(adapter)) {
      auto it = state.find(name + "." + inmem);
      PEFTCPP_CHECK(it != state.end(), "[peft] state of '", name, "' has no '", inmem, "'");
      out[name + "." + saved] = it->second;
    }
  }

  const bool targeted = embedding_is_targeted(model, config);
  const TargetFields f = tuner.target_fields(config);
  const bool trainable_tokens =
      f.trainable_token_indices != nullptr && !f.trainable_token_indices->is_null();
  bool save = save_embedding_layers == SaveEmbeddingLayers::Yes;
  if (save_embedding_layers == SaveEmbeddingLayers::Auto)
    save = targeted && !trainable_tokens;
  if (save) {
    auto* pm = dynamic_cast<models::PreTrainedModel*>(model.get_base_model().get());
    if (pm == nullptr) {
      std::cerr << "[peft] warning: could not identify embedding layer(s) because the model is not "
                   "a transformers model\n";
    } else {
      for (const nn::ModulePtr& layer : {pm->input_embeddings(), pm->output_embeddings()}) {
        if (!layer)
          continue;
        auto* t = dynamic_cast<BaseTunerLayer*>(layer.get());
        const bool valid_base = t != nullptr && t->base_layer() != nullptr;
        if (targeted && !valid_base)
          continue;
        const std::string name = embedding_layer_name(model, layer, targeted);
        if (name.empty())
          continue;
        for (const auto& [k, v] : state) {
          if (k.starts_with(name + "."))
            out[k] = v;
        }
      }
    }
  }

  nn::StateDict result;
  for (auto& [k, v] : out) result[tuner.remove_adapter_name_from_key(k, adapter)] = v;
  return result;
}

nn::LoadResult set_peft_model_state_dict(
    PeftModel& model, const nn::StateDict& checkpoint, const std::string& adapter) {
  PeftConfig& config = model.peft_config(adapter);
  nn::StateDict state = checkpoint;
  for (const auto& [name, m] : model.named_modules()) {
    auto* w = dynamic_cast<AuxiliaryTrainingWrapper*>(m.get());
    if (w == nullptr)
      continue;
    for (const auto& [saved, inmem] : w->adapter_state_dict_load_map(adapter)) {
      auto it = state.find(name + "." + saved);
      if (it == state.end())
        continue;
      Tensor v = it->second;
      state.erase(it);
      state[name + "." + inmem] = v;
    }
  }
  const nn::StateDict mapped =
      model.base_model().remap_adapter_state_dict_for_load(model, config, adapter, state);
  return model.load_state_dict(mapped, false);
}

nn::StateDict load_peft_weights(const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / kAdapterWeightsName;
  if (!std::filesystem::exists(file)) {
    throw IoError(detail::concat("[peft] no ", kAdapterWeightsName, " in '", dir.string(), "'"));
  }
  nn::StateDict out;
  for (auto& [k, v] : load_safetensors(file.string())) out.emplace(k, v);
  return out;
}

}  // namespace peftcpp
