// Shared helpers of the tests/peft executables: small custom models (built through the golden
// checker's CustomModel from a JSON description), LoRA configs and tensor comparisons.
#pragma once

#include <memory>
#include <string>

#include "io/json/json.h"
#include "peft/golden/custom_models.h"
#include "peft/mapping.h"
#include "peft/tuners/lora/config.h"
#include "tensor/ops.h"

namespace peftcpp::test {

/// out = lin1(relu(lin0(X))) with lin0 16->32, lin1 32->8 (PEFT's test "MLP").
inline std::shared_ptr<peft::CustomModel> make_mlp(std::uint64_t seed = 0) {
  manual_seed(seed);
  return std::make_shared<peft::CustomModel>(Json::parse(R"J({
    "forward": "out = lin1(relu(lin0(X)))",
    "modules": {
      "lin0": {"type": "Linear", "in_features": 16, "out_features": 32, "bias": true},
      "relu": {"type": "ReLU"},
      "lin1": {"type": "Linear", "in_features": 32, "out_features": 8, "bias": true}}})J"));
}

/// A model with every layer type LoRA supports: emb -> conv1d (transformers Conv1D) -> lin0.
inline std::shared_ptr<peft::CustomModel> make_model(
    const std::string& json, std::uint64_t seed = 0) {
  manual_seed(seed);
  return std::make_shared<peft::CustomModel>(Json::parse(json));
}

/// LoraConfig with non-identity init (init_lora_weights=false keeps random A and B).
inline std::unique_ptr<LoraConfig> lora_config(ModuleNames targets, int r = 4, int alpha = 8) {
  auto c = std::make_unique<LoraConfig>();
  c->target_modules = std::move(targets);
  c->r = r;
  c->lora_alpha = alpha;
  c->init_lora_weights = false;
  return c;
}

inline double max_diff(const Tensor& a, const Tensor& b) {
  return max_abs_diff(a.detach().to(kFloat64), b.detach().to(kFloat64));
}

}  // namespace peftcpp::test
