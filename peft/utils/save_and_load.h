// Adapter state dicts and files: port of get_peft_model_state_dict, set_peft_model_state_dict
// and load_peft_weights in peft/utils/save_and_load.py @5d602fd.
//
// Keys in files carry no adapter name: `base_model.model.lin0.lora_A.default.weight` is saved as
// `base_model.model.lin0.lora_A.weight`, DoRA's `...lora_magnitude_vector.default.weight` as
// `...lora_magnitude_vector`, a modules_to_save copy `lin1.modules_to_save.default.weight` as
// `lin1.weight`, trainable tokens as `<emb>.token_adapter.trainable_tokens_delta`. Loading maps
// them back onto the adapter being loaded (which may have another name).
#pragma once

#include <filesystem>
#include <string>

#include "io/safetensors/tensor_io.h"
#include "nn/module.h"

namespace peftcpp {

class PeftModel;

/// File name PEFT uses for adapter weights.
inline constexpr const char* kAdapterWeightsName = "adapter_model.safetensors";

/// Whether embedding layers are saved with the adapter ("auto": when they are LoRA targets by
/// PEFT's EMBEDDING_LAYER_NAMES and trainable tokens are not used).
enum class SaveEmbeddingLayers { Auto, Yes, No };

/// The tensors of `adapter` as they are written to adapter_model.safetensors.
nn::StateDict get_peft_model_state_dict(
    PeftModel& model,
    const std::string& adapter = "default",
    SaveEmbeddingLayers save_embedding_layers = SaveEmbeddingLayers::Auto);

/// Loads `state` (file keys) into `adapter` of `model`: keys are mapped to the model's, then
/// loaded non-strictly (missing base-model keys are expected). Throws ValueError naming every
/// tensor whose shape differs (with both shapes) before anything is copied.
nn::LoadResult set_peft_model_state_dict(
    PeftModel& model, const nn::StateDict& state, const std::string& adapter = "default");

/// `dir/adapter_model.safetensors` (throws IoError naming the path when absent).
nn::StateDict load_peft_weights(const std::filesystem::path& dir);

}  // namespace peftcpp
