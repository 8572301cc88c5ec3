// The golden checker's `peft` group (layout: shared/golden/README.md, peft/<case>/): rebuilds the
// base model (transformers checkpoints through models/, the small custom models from meta.json's
// `base_model`), loads the adapter through PeftModel::from_pretrained and checks output.base,
// output.adapter, output.adapter_disabled, output.merged, merged.*, param.*, grad.* and sgd.*.
#pragma once

#include <filesystem>

#include "io/golden/golden_case.h"

namespace peftcpp::peft {

/// SKIP when the case's method (meta.json "method") has no tuner registered; otherwise PASS or
/// the first FAIL.
golden::Verdict check_golden_case(const std::filesystem::path& case_dir);

}  // namespace peftcpp::peft
