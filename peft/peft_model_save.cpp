// PeftModel files: save_pretrained, from_pretrained, load_adapter (port of peft/peft_model.py
// @5d602fd).
#include <iostream>

#include "peft/peft_model.h"
#include "peft/peft_model_tasks.h"
#include "peft/tuners/registry.h"
#include "tensor/error.h"

namespace peftcpp {
namespace {

// PEFT's auto_mapping {base_model_class, parent_library} for configs without task_type.
Json auto_mapping_of(const nn::Module& base) {
  std::string library = "peftcpp";
  if (const auto* pm = dynamic_cast<const models::PreTrainedModel*>(&base)) {
    const std::string t = pm->config().model_type();
    library = "transformers.models." + t + ".modeling_" + t;
  }
  return Json::object({{"base_model_class", base.type_name()}, {"parent_library", library}});
}

}  // namespace

void PeftModel::save_pretrained(
    const std::filesystem::path& dir,
    const std::optional<std::vector<std::string>>& selected,
    SaveEmbeddingLayers save_embedding_layers) const {
  PEFTCPP_CHECK(
      !std::filesystem::is_regular_file(dir),
      "[peft] save_pretrained: '",
      dir.string(),
      "' should be a directory, not a file");
  const std::vector<std::string> all = tuner_->adapter_names();
  std::vector<std::string> names = selected.value_or(all);
  for (const std::string& n : names) {
    PEFTCPP_CHECK(
        std::find(all.begin(), all.end(), n) != all.end(),
        "[peft] save_pretrained: "
        "unknown adapter '",
        n,
        "' in selected_adapters");
  }
  std::filesystem::create_directories(dir);
  auto& self = const_cast<PeftModel&>(*this);
  for (const std::string& adapter : names) {
    const nn::StateDict state = get_peft_model_state_dict(self, adapter, save_embedding_layers);
    const std::filesystem::path out = adapter == "default" ? dir : dir / adapter;
    std::filesystem::create_directories(out);
    TensorMap tensors;
    for (const auto& [k, v] : state) tensors[k] = v.detach().contiguous();
    save_safetensors((out / kAdapterWeightsName).string(), tensors);

    std::unique_ptr<PeftConfig> cfg = peft_config(adapter).clone();
    cfg->inference_mode = true;
    if (!cfg->task_type) {
      // keep the mapping of a loaded PEFT config (its class names are Python's)
      if (!cfg->auto_mapping.is_object())
        cfg->auto_mapping = auto_mapping_of(*get_base_model());
    }
    cfg->save_pretrained(out);
  }
}

std::shared_ptr<PeftModel> PeftModel::from_pretrained(
    nn::ModulePtr model,
    const std::filesystem::path& dir,
    const std::string& adapter,
    bool is_trainable) {
  std::unique_ptr<PeftConfig> config = load_peft_config(dir);
  PEFTCPP_CHECK(
      !(config->is_prompt_learning() && is_trainable),
      "[peft] cannot set a prompt "
      "learning adapter to trainable when loading pretrained adapter");
  config->inference_mode = !is_trainable;
  std::shared_ptr<PeftModel> peft = make_peft_model(model, std::move(config), adapter);
  try {
    peft->load_adapter(dir, adapter, is_trainable);
  } catch (...) {
    peft->tuner_->unload();  // give the base model its own layers back
    throw;
  }
  return peft;
}

nn::LoadResult PeftModel::load_adapter(
    const std::filesystem::path& dir, const std::string& adapter, bool is_trainable) {
  bool created = false;
  if (!tuner_->has_adapter(adapter)) {
    std::unique_ptr<PeftConfig> config = load_peft_config(dir);
    PEFTCPP_CHECK(
        !(config->is_prompt_learning() && is_trainable),
        "[peft] cannot set a prompt "
        "learning adapter to trainable when loading pretrained adapter");
    const auto& init = [&]() -> std::string {
      const Json j = config->to_json();
      const Json* w = j.find("init_lora_weights");
      return w != nullptr && w->is_string() ? w->as_string() : "";
    }();
    if (!tuner_->adapter_names().empty() &&
        (init == "pissa" || init == "corda" || init == "olora")) {
      std::cerr << "[peft] warning: " << init
                << " changes the base weights of the model and should "
                << "thus not be used with other adapters\n";
    }
    config->inference_mode = !is_trainable;
    add_adapter(adapter, std::move(config));
    created = true;
  }
  nn::LoadResult result;
  try {
    result = set_peft_model_state_dict(*this, load_peft_weights(dir), adapter);
  } catch (...) {
    if (created)
      delete_adapter(adapter);
    throw;
  }
  const TunerEntry* entry = find_tuner(peft_type_);
  const std::string prefix = entry != nullptr ? entry->prefix : "";
  std::vector<std::string> missing;
  for (const std::string& k : result.missing_keys) {
    if (k.find(prefix) != std::string::npos && k.find(adapter) != std::string::npos)
      missing.push_back(k);
  }
  result.missing_keys = missing;
  if (!missing.empty()) {
    std::cerr << "[peft] warning: found missing adapter keys while loading the checkpoint:";
    for (const std::string& k : missing) std::cerr << ' ' << k;
    std::cerr << '\n';
  }
  if (!result.unexpected_keys.empty()) {
    std::cerr << "[peft] warning: keys of " << (dir / kAdapterWeightsName).string()
              << " that match no tensor of the model:";
    for (const std::string& k : result.unexpected_keys) std::cerr << ' ' << k;
    std::cerr << '\n';
  }
  if (!is_trainable)
    eval();
  return result;
}

}  // namespace peftcpp
