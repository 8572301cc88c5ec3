// model_type -> the family that builds it. Each family folder provides one factory; the table
// lives in registry.cpp (one line per family).
#pragma once

#include <string>

#include "models/model.h"

namespace peftcpp::models {

struct ModelFamily {
  /// config.json's "model_type" ("llama", "gpt2", ...).
  const char* model_type;
  /// Builds the architecture named `architecture` ("LlamaForCausalLM"; empty = the family's
  /// base model) with freshly initialised weights; throws ValueError listing the family's
  /// architectures when it does not know the name.
  ModelPtr (*make)(const HfConfig& config, const std::string& architecture);
};

/// The family of `model_type`, null when none.
const ModelFamily* find_model_family(const std::string& model_type);
/// "bert, gpt2, llama, ..." for error messages.
std::string known_model_types();

}  // namespace peftcpp::models
