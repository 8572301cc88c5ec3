// Replays the optimizer golden cases (<golden>/optim/<case>/, layout in its README.md) with
// peftcpp's nn modules, optimizers, clipping and schedules, and compares every expected key.
#pragma once

#include <string>
#include <vector>

namespace peftcpp::nn::optim {

struct GoldenCaseResult {
  std::string name;
  bool passed = false;
  /// First problem: "key max|diff|=x > tol y", a missing/unexpected key, or an exception text.
  std::string message;
  int keys_checked = 0;
};

/// Every case folder of `optim_dir` that holds a meta.json, in sorted order. Throws IoError when
/// the directory cannot be listed; failures inside a case are reported in its result.
std::vector<GoldenCaseResult> check_optim_golden(const std::string& optim_dir);
/// One case folder.
GoldenCaseResult check_optim_case(const std::string& case_dir);

}  // namespace peftcpp::nn::optim
