// Helpers of the (IA)^3 tests: configs with non-identity init and small models.
#pragma once

#include <memory>
#include <string>

#include "peft/tuners/ia3/config.h"
#include "peft/tuners/ia3/layer.h"
#include "tests/peft/peft_test_util.h"

namespace peftcpp::test {

/// IA3Config on `targets` (feed-forward: `feedforward`) with random vectors
/// (init_ia3_weights=false), as the golden cases use.
inline std::unique_ptr<IA3Config> ia3_config(
    ModuleNames targets, ModuleNames feedforward = {}, bool init = false) {
  auto c = std::make_unique<IA3Config>();
  c->target_modules = std::move(targets);
  c->feedforward_modules =
      feedforward.is_none() ? ModuleNames(std::vector<std::string>{}) : std::move(feedforward);
  c->init_ia3_weights = init;
  return c;
}

/// conv2d (3 -> 4 channels, 3x3, padding 1) -> relu -> flatten -> lin0 (100 -> 5), on 5x5 inputs.
inline const char* kIa3ConvModel = R"J({"forward": "out = lin0(flatten(relu(conv2d(X))))",
  "modules": {
    "conv2d": {"type": "Conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": [3, 3],
               "stride": [1, 1], "padding": [1, 1], "groups": 1, "bias": true},
    "relu": {"type": "ReLU"},
    "lin0": {"type": "Linear", "in_features": 100, "out_features": 5, "bias": true}}})J";

/// emb -> conv1d (transformers Conv1D 6 -> 8) -> relu -> lin0 (8 -> 3).
inline const char* kIa3EmbModel = R"J({"forward": "out = lin0(relu(conv1d(emb(X))))",
  "modules": {
    "emb": {"type": "Embedding", "num_embeddings": 20, "embedding_dim": 6},
    "conv1d": {"type": "transformers.Conv1D", "in_features": 6, "out_features": 8},
    "relu": {"type": "ReLU"},
    "lin0": {"type": "Linear", "in_features": 8, "out_features": 3, "bias": true}}})J";

inline std::shared_ptr<ia3::IA3Layer> ia3_layer(PeftModel& model, const std::string& name) {
  return model.get_base_model()->get_submodule_as<ia3::IA3Layer>(name);
}

}  // namespace peftcpp::test
