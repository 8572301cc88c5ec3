#include "models/registry.h"

#include <array>

#include "models/bert/bert.h"
#include "models/gpt2/gpt2.h"
#include "models/llama/heads.h"
#include "models/t5/t5_model.h"

namespace peftcpp::models {
namespace {

// One line per family: {"model_type", &make_<family>_model}.
constexpr std::array<ModelFamily, 6> kFamilies{{
    {"bert", &make_bert_model},
    {"gpt2", &make_gpt2_model},
    {"llama", &llama::make_llama_family},
    {"mistral", &llama::make_llama_family},
    {"qwen2", &llama::make_llama_family},
    {"t5", &t5::make_t5_model},
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
