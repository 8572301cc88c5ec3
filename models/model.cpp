#include "models/model.h"

#include <map>

#include "io/safetensors/tensor_io.h"
#include "models/registry.h"
#include "tensor/error.h"

namespace peftcpp::models {

std::int64_t KVCache::seq_length() const {
  if (self.empty() || !self.front().key.defined()) return 0;
  return self.front().key.size(-2);
}

void PreTrainedModel::save_pretrained(const std::filesystem::path& dir) const {
  std::filesystem::create_directories(dir);
  nn::StateDict state = state_dict();
  for (const auto& [tied, source] : tied_weights()) {
    (void)source;
    state.erase(tied);
  }
  // As transformers: config.architectures names the class being saved.
  std::unique_ptr<HfConfig> config_to_save = config().clone();
  config_to_save->architectures = std::vector<std::string>{type_name()};
  config_to_save->save_pretrained(dir);
  save_safetensors((dir / "model.safetensors").string(), state);
}

ModelPtr from_config(const HfConfig& config, const std::string& architecture) {
  std::string arch = architecture;
  if (arch.empty() && config.architectures && !config.architectures->empty())
    arch = config.architectures->front();
  const ModelFamily* family = find_model_family(config.model_type());
  if (family == nullptr) {
    throw ValueError(std::string("[models] no model family for model_type '") +
                     config.model_type() + "' (known: " + known_model_types() + ")");
  }
  return family->make(config, arch);
}

ModelPtr from_pretrained(const std::filesystem::path& dir, const LoadOptions& options) {
  if (!std::filesystem::is_directory(dir))
    throw IoError("[models] from_pretrained: '" + dir.string() + "' is not a directory");
  const std::unique_ptr<HfConfig> config = load_hf_config(dir / "config.json");
  ModelPtr model = from_config(*config);
  TensorMap state = load_safetensors_dir(dir.string(), options.dtype.value_or(kFloat32));
  // The checkpoint stores each tied group once, under either name.
  for (const auto& [tied, source] : model->tied_weights()) {
    const bool has_tied = state.count(tied) != 0;
    const bool has_source = state.count(source) != 0;
    if (!has_tied && has_source) state[tied] = state[source];
    if (has_tied && !has_source) state[source] = state[tied];
  }
  if (options.dtype) model->to(*options.dtype);
  try {
    model->load_state_dict(state, options.strict);
  } catch (const Error& e) {
    throw ValueError("[models] " + dir.string() + ": checkpoint does not fit " +
                     config->class_name() + ": " + e.what());
  }
  model->eval();
  return model;
}

}  // namespace peftcpp::models
