// The golden checker's `models` group: one case folder (config.json, model.safetensors,
// inputs.safetensors, expected.safetensors, meta.json) checked through from_pretrained: logits
// (or last_hidden_state / pooler_output), every hidden state, padded-mask logits, the loss and the
// gradient of every parameter, each within meta.json's tolerances.
#pragma once

#include <filesystem>

#include "io/golden/golden_case.h"

namespace peftcpp::models {

/// SKIP when the case's model_type has no family here; otherwise PASS or the first FAIL.
golden::Verdict check_golden_case(const std::filesystem::path& case_dir);

}  // namespace peftcpp::models
