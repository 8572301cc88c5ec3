// Golden `peft` cases of one method for the OFT / BOFT tests: the custom-model cases (their base
// models are rebuilt from meta.json) and the whole group through the golden checker.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "io/golden/golden_case.h"
#include "peft/golden/custom_models.h"
#include "peft/golden_check.h"
#include "tests/peft/golden_dir.h"

namespace peftcpp::test {

/// Case folders of `method` whose base model is a custom model.
inline std::vector<std::filesystem::path> custom_golden_cases(const std::string& method) {
  std::vector<std::filesystem::path> out;
  for (const std::filesystem::path& meta : golden_files("peft", "meta.json")) {
    const Json m = Json::parse_file(meta);
    const Json* kind = m.at("base_model").find("kind");
    if (m.at("method").as_string() == method && kind != nullptr &&
        kind->as_string() != "transformers") {
      out.push_back(meta.parent_path());
    }
  }
  return out;
}

/// The base model of a custom-model case with its weights.
inline nn::ModulePtr golden_base(const std::filesystem::path& dir) {
  const Json meta = golden::read_meta(dir);
  auto model = std::make_shared<peft::CustomModel>(meta.at("base_model"));
  nn::StateDict state;
  for (auto& [k, v] : load_safetensors((dir / "model.safetensors").string())) state.emplace(k, v);
  model->load_state_dict(state);
  return model;
}

/// Runs the golden checker on every case of `method`: none may FAIL; SKIP only for base models
/// that are not implemented.
inline void check_golden_group(const std::string& method) {
  int passed = 0, skipped = 0, total = 0;
  for (const std::filesystem::path& meta : golden_files("peft", "meta.json")) {
    const Json m = Json::parse_file(meta);
    if (m.at("method").as_string() != method)
      continue;
    ++total;
    CAPTURE(meta.parent_path().filename().string());
    golden::Verdict v;
    try {
      v = peft::check_golden_case(meta.parent_path());
    } catch (const std::exception& e) {
      v = golden::Verdict::fail(e.what());
    }
    CHECK_MESSAGE(v.status != golden::Verdict::Status::Fail, v.message);
    if (v.status == golden::Verdict::Status::Pass)
      ++passed;
    if (v.status == golden::Verdict::Status::Skip) {
      ++skipped;
      CHECK_MESSAGE(v.message.find("model not implemented") != std::string::npos, v.message);
    }
  }
  MESSAGE(passed << " passed, " << skipped << " skipped of " << total << " " << method << " cases");
  if (total > 0)
    CHECK(passed > 0);
}

}  // namespace peftcpp::test
