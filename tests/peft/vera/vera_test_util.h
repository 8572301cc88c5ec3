// Helpers of the VeRA tests.
#pragma once

#include <memory>
#include <string>

#include "peft/tuners/vera/config.h"
#include "peft/tuners/vera/layer.h"
#include "peft/tuners/vera/model.h"
#include "tests/peft/peft_test_util.h"

namespace peftcpp::test {

/// VeraConfig on `targets` with rank `r` and random lambda_d / ones lambda_b
/// (init_weights=false), as the golden cases use.
inline std::unique_ptr<VeraConfig> vera_config(ModuleNames targets, int r = 4, bool init = false) {
  auto c = std::make_unique<VeraConfig>();
  c->target_modules = std::move(targets);
  c->r = r;
  c->init_weights = init;
  return c;
}

/// emb -> conv1d (transformers Conv1D 6 -> 8) -> relu -> lin0 (8 -> 3).
inline const char* kVeraEmbModel = R"J({"forward": "out = lin0(relu(conv1d(emb(X))))",
  "modules": {
    "emb": {"type": "Embedding", "num_embeddings": 20, "embedding_dim": 6},
    "conv1d": {"type": "transformers.Conv1D", "in_features": 6, "out_features": 8},
    "relu": {"type": "ReLU"},
    "lin0": {"type": "Linear", "in_features": 8, "out_features": 3, "bias": true}}})J";

inline std::shared_ptr<vera::VeraLayer> vera_layer(PeftModel& model, const std::string& name) {
  return model.get_base_model()->get_submodule_as<vera::VeraLayer>(name);
}

inline vera::VeraModel& vera_tuner(PeftModel& model) {
  return dynamic_cast<vera::VeraModel&>(model.base_model());
}

}  // namespace peftcpp::test
