// Helpers of the OFT / BOFT tests: small base models (as JSON for peft::CustomModel) and
// configs with non-identity initialisation.
#pragma once

#include <memory>
#include <string>

#include "peft/tuners/boft/config.h"
#include "peft/tuners/oft/config.h"
#include "tests/peft/peft_test_util.h"

namespace peftcpp::test {

/// lin1(relu(lin0(X))), lin0 16 -> 32, lin1 32 -> 8.
inline const char* const kMlpJson = R"J({"forward": "out = lin1(relu(lin0(X)))", "modules": {
    "lin0": {"type": "Linear", "in_features": 16, "out_features": 32, "bias": true},
    "relu": {"type": "ReLU"},
    "lin1": {"type": "Linear", "in_features": 32, "out_features": 8, "bias": true}}})J";

/// lin0(flatten(relu(conv2d(X)))), conv2d 4 -> 8 channels, kernel 3, padding 1; X [B, 4, 5, 5].
inline const char* const kConvJson = R"J({"forward": "out = lin0(flatten(relu(conv2d(X))))",
  "modules": {
    "conv2d": {"type": "Conv2d", "in_channels": 4, "out_channels": 8, "kernel_size": [3, 3],
               "stride": [1, 1], "padding": [1, 1], "groups": 1, "bias": true},
    "relu": {"type": "ReLU"}, "flat": {"type": "Flatten"},
    "lin0": {"type": "Linear", "in_features": 200, "out_features": 3, "bias": true}}})J";

/// lin0(relu(emb(X))), emb 10 x 8, lin0 8 -> 3; X int64 ids.
inline const char* const kEmbJson = R"J({"forward": "out = lin0(relu(emb(X)))", "modules": {
    "emb": {"type": "Embedding", "num_embeddings": 10, "embedding_dim": 8},
    "relu": {"type": "ReLU"},
    "lin0": {"type": "Linear", "in_features": 8, "out_features": 3, "bias": true}}})J";

/// OFTConfig with random rotations (init_weights=false); block size `block` (r derived).
inline std::unique_ptr<OFTConfig> oft_config(ModuleNames targets, int block = 4) {
  auto c = std::make_unique<OFTConfig>();
  c->target_modules = std::move(targets);
  c->r = 0;
  c->oft_block_size = block;
  c->init_weights = false;
  return c;
}

/// BOFTConfig with random blocks and scales (init_weights=false).
inline std::unique_ptr<BOFTConfig> boft_config(ModuleNames targets, int block = 4) {
  auto c = std::make_unique<BOFTConfig>();
  c->target_modules = std::move(targets);
  c->boft_block_size = block;
  c->init_weights = false;
  return c;
}

}  // namespace peftcpp::test
