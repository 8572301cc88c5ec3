#include "models/registry.h"

#include <array>

#include "models/llama/heads.h"

namespace peftcpp::models {
namespace {

// One line per family: {"model_type", &make_<family>_model}.
constexpr std::array<ModelFamily, 3> kFamilies{{
    {"llama", &llama::make_llama_family},
    {"mistral", &llama::make_llama_family},
    {"qwen2", &llama::make_llama_family},
}};

}  // namespace

const ModelFamily* find_model_family(const std::string& model_type) {
  for (const ModelFamily& f : kFamilies)
    if (model_type == f.model_type) return &f;
  return nullptr;
}

std::string known_model_types() {
  std::string out;
  for (const ModelFamily& f : kFamilies) out += (out.empty() ? "" : ", ") + std::string(f.model_type);
  return out.empty() ? "none built in" : out;
}

}  // namespace peftcpp::models
