// RankAllocator: AdaLoRA's budget allocation (port of RankAllocator in
// peft/tuners/adalora/layer.py @5d602fd; paper: Zhang et al. 2023, arXiv:2303.10512, Sec. 3.2-3.3).
//
// After each backward pass, for every adapter parameter p (names containing "lora_" and the
// adapter name) with gradient g:
//   ipt         = |p * g|                                           (sensitivity)
//   exp_avg_ipt = beta1 * exp_avg_ipt + (1 - beta1) * ipt           (smoothed sensitivity)
//   exp_avg_unc = beta2 * exp_avg_unc + (1 - beta2) * |ipt - exp_avg_ipt|   (uncertainty)
// The score of triplet i of a layer is s(E_i) + mean_j s(A_ij) + mean_j s(B_ji) with
// s = exp_avg_ipt * exp_avg_unc. The budget (total number of kept triplets) follows
//   step <= tinit:                   init_bgt (no masking)
//   step >  total_step - tfinal:     target_bgt (masking)
//   otherwise:                       int((init_bgt - target_bgt) * (1 - (step - tinit) /
//                                    (total_step - tfinal - tinit))^3 + target_bgt), masking
//                                    every deltaT steps
// where init_bgt = sum of the initial ranks and target_bgt = target_r * number of layers.
// Masking zeroes lora_E where the score is <= the (init_bgt - budget)-th smallest score of all
// triplets and returns the rank pattern {"<layer>.lora_E.<adapter>": [kept?, ...]}.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "io/json/json.h"
#include "nn/module.h"
#include "peft/tuners/adalora/config.h"

namespace peftcpp::adalora {

class RankAllocator {
 public:
  /// Reads the initial budget from the lora_A.<adapter> parameters of `model` (the adapted
  /// model, names relative to it). Throws ValueError unless 0 < beta1, beta2 < 1.
  RankAllocator(nn::Module& model, const AdaLoraConfig& config, std::string adapter);

  /// Forgets the importance statistics.
  void reset_ipt();
  /// (budget, whether to mask) at `step`.
  std::pair<std::int64_t, bool> budget_schedule(
      std::int64_t step, const AdaLoraConfig& config) const;
  /// Updates ipt / exp_avg_ipt / exp_avg_unc from the current gradients (throws ValueError
  /// naming a parameter without gradient).
  void update_ipt(nn::Module& model);
  /// Masks lora_E down to `budget` triplets; returns the rank pattern (a JSON object).
  Json mask_to_budget(nn::Module& model, std::int64_t budget);
  /// update_ipt before total_step - tfinal, then masks when the schedule (or force_mask) says
  /// so. Returns the budget and the rank pattern (null when nothing was masked).
  std::pair<std::int64_t, Json> update_and_allocate(
      nn::Module& model, const AdaLoraConfig& config, std::int64_t step, bool force_mask = false);
  /// Zeroes the lora_E entries that `rank_pattern` marks false (keys with or without the
  /// adapter name).
  void mask_using_rank_pattern(nn::Module& model, const Json& rank_pattern) const;

  const std::string& adapter() const {
    return adapter_;
  }
  std::int64_t init_bgt() const {
    return init_bgt_;
  }
  std::int64_t target_bgt() const {
    return target_bgt_;
  }
  /// Sorted layer keys ("<layer>.%s.<adapter>").
  const std::vector<std::string>& name_set() const {
    return name_set_;
  }
  const std::map<std::string, Tensor>& ipt() const {
    return ipt_;
  }
  const std::map<std::string, Tensor>& exp_avg_ipt() const {
    return exp_avg_ipt_;
  }
  const std::map<std::string, Tensor>& exp_avg_unc() const {
    return exp_avg_unc_;
  }

 private:
  Tensor element_score(const std::string& name) const;

  std::string adapter_;
  double beta1_;
  double beta2_;
  std::int64_t init_bgt_ = 0;
  std::int64_t target_bgt_ = 0;
  std::vector<std::string> name_set_;
  std::map<std::string, Tensor> ipt_;
  std::map<std::string, Tensor> exp_avg_ipt_;
  std::map<std::string, Tensor> exp_avg_unc_;
};

/// Every occurrence of `from` in `s` replaced by `to` (Python's str.replace).
std::string replace_all(std::string s, const std::string& from, const std::string& to);

}  // namespace peftcpp::adalora
