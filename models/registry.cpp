#include "models/registry.h"

#include <array>

#include "models/t5/t5_model.h"

namespace peftcpp::models {
namespace {

// One line per family: {"model_type", &make_<family>_model}.
constexpr std::array<ModelFamily, 1> kFamilies{{
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
