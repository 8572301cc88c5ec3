// RankAllocator (port of RankAllocator in peft/tuners/adalora/layer.py @5d602fd). Parameter
// names are matched by substring, as PEFT does ("lora_A.<adapter>" in name, ...).
#include "peft/tuners/adalora/rank_allocator.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "autograd/grad_mode.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::adalora {
namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  if (from.empty())
    return s;
  for (std::size_t pos = s.find(from); pos != std::string::npos;
       pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

RankAllocator::RankAllocator(nn::Module& model, const AdaLoraConfig& config, std::string adapter)
    : adapter_(std::move(adapter)), beta1_(config.beta1), beta2_(config.beta2) {
  PEFTCPP_CHECK(
      beta1_ > 0 && beta1_ < 1, "[adalora] RankAllocator needs 0 < beta1 < 1, got ", beta1_);
  PEFTCPP_CHECK(
      beta2_ > 0 && beta2_ < 1, "[adalora] RankAllocator needs 0 < beta2 < 1, got ", beta2_);
  std::set<std::string> names;
  for (const auto& [n, p] : model.named_parameters()) {
    if (!contains(n, "lora_A." + adapter_))
      continue;
    init_bgt_ += p.size(0);
    names.insert(replace_all(n, "lora_A", "%s"));
  }
  name_set_.assign(names.begin(), names.end());
  target_bgt_ =
      static_cast<std::int64_t>(config.target_r) * static_cast<std::int64_t>(name_set_.size());
}

void RankAllocator::reset_ipt() {
  ipt_.clear();
  exp_avg_ipt_.clear();
  exp_avg_unc_.clear();
}

std::pair<std::int64_t, bool> RankAllocator::budget_schedule(
    std::int64_t step, const AdaLoraConfig& config) const {
  const std::int64_t tinit = config.tinit;
  const std::int64_t tfinal = config.tfinal;
  PEFTCPP_CHECK(config.total_step.has_value(), "[adalora] budget_schedule needs total_step");
  const std::int64_t total = *config.total_step;
  if (step <= tinit)
    return {init_bgt_, false};
  if (step > total - tfinal)
    return {target_bgt_, true};
  const double mul =
      1.0 - static_cast<double>(step - tinit) / static_cast<double>(total - tfinal - tinit);
  const double b = static_cast<double>(init_bgt_ - target_bgt_) * std::pow(mul, 3.0) +
                   static_cast<double>(target_bgt_);
  return {static_cast<std::int64_t>(b), step % config.deltaT == 0};
}

void RankAllocator::update_ipt(nn::Module& model) {
  NoGradGuard g;
  for (const auto& [n, p] : model.named_parameters()) {
    if (!contains(n, "lora_") || !contains(n, adapter_))
      continue;
    const Tensor grad = p.grad();
    PEFTCPP_CHECK(
        grad.defined(),
        "[adalora] update_and_allocate: parameter '",
        n,
        "' has no gradient; call it after loss.backward() and before zero_grad()");
    if (!ipt_.count(n)) {
      ipt_[n] = zeros_like(p.detach());
      exp_avg_ipt_[n] = zeros_like(p.detach());
      exp_avg_unc_[n] = zeros_like(p.detach());
    }
    ipt_[n] = abs(p.detach() * grad);
    exp_avg_ipt_[n] = exp_avg_ipt_[n] * beta1_ + ipt_[n] * (1 - beta1_);
    exp_avg_unc_[n] = exp_avg_unc_[n] * beta2_ + abs(ipt_[n] - exp_avg_ipt_[n]) * (1 - beta2_);
  }
}

Tensor RankAllocator::element_score(const std::string& name) const {
  auto ipt = exp_avg_ipt_.find(name);
  auto unc = exp_avg_unc_.find(name);
  PEFTCPP_CHECK(
      ipt != exp_avg_ipt_.end() && unc != exp_avg_unc_.end(),
      "[adalora] no importance scores for '",
      name,
      "': update_and_allocate must run (after backward) before the budget is allocated");
  return ipt->second * unc->second;
}

Json RankAllocator::mask_to_budget(nn::Module& model, std::int64_t budget) {
  NoGradGuard g;
  std::map<std::string, std::vector<Tensor>> vector_ipt;  // layer key -> [A score, B score]
  std::map<std::string, Tensor> value_ipt;                // layer key -> E score
  const nn::NamedTensors params = model.named_parameters();
  for (const auto& [n, p] : params) {
    if (contains(n, "lora_A." + adapter_)) {
      vector_ipt[replace_all(n, "lora_A", "%s")].push_back(mean(element_score(n), {1}, true));
    }
    if (contains(n, "lora_B." + adapter_)) {
      vector_ipt[replace_all(n, "lora_B", "%s")].push_back(
          mean(element_score(n), {0}, false).view({-1, 1}));
    }
    if (contains(n, "lora_E." + adapter_))
      value_ipt[replace_all(n, "lora_E", "%s")] = element_score(n);
  }
  std::map<std::string, Tensor> triplet_ipt;  // lora_E name -> [r, 1] score
  std::vector<double> all_score;
  for (const auto& [name_m, parts] : vector_ipt) {
    auto e = value_ipt.find(name_m);
    PEFTCPP_CHECK(e != value_ipt.end(), "[adalora] layer '", name_m, "' has no lora_E scores");
    const Tensor sum_ipt = e->second.view({-1}) + sum(cat(parts, 1), {1}).view({-1});
    triplet_ipt[replace_all(name_m, "%s", "lora_E")] = sum_ipt.view({-1, 1});
    for (double s : sum_ipt.to_vector<double>()) all_score.push_back(s);
  }
  const std::int64_t k = init_bgt_ - budget;
  PEFTCPP_CHECK(
      k >= 1 && k <= static_cast<std::int64_t>(all_score.size()),
      "[adalora] cannot mask to a budget of ",
      budget,
      " triplets: the threshold is the (init_bgt - budget) = ",
      k,
      "-th smallest of ",
      all_score.size(),
      " scores (kthvalue: selected number k out of range)");
  std::nth_element(all_score.begin(), all_score.begin() + (k - 1), all_score.end());
  const double threshold = all_score[static_cast<std::size_t>(k - 1)];

  Json rank_pattern = Json::object();
  for (auto [n, p] : params) {
    if (!contains(n, "lora_E." + adapter_))
      continue;
    const Tensor& score = triplet_ipt.at(n);
    nn::set_data(p, masked_fill(p.detach(), le(score, threshold), 0.0));
    JsonArray keep;
    for (double s : score.to_vector<double>()) keep.emplace_back(!(s <= threshold));
    rank_pattern.as_object().set(n, Json(std::move(keep)));
  }
  return rank_pattern;
}

std::pair<std::int64_t, Json> RankAllocator::update_and_allocate(
    nn::Module& model, const AdaLoraConfig& config, std::int64_t step, bool force_mask) {
  PEFTCPP_CHECK(config.total_step.has_value(), "[adalora] update_and_allocate needs total_step");
  if (step < *config.total_step - config.tfinal)
    update_ipt(model);
  const auto [budget, mask_ind] = budget_schedule(step, config);
  Json rank_pattern;
  if (mask_ind || force_mask)
    rank_pattern = mask_to_budget(model, budget);
  return {budget, rank_pattern};
}

void RankAllocator::mask_using_rank_pattern(nn::Module& model, const Json& rank_pattern) const {
  PEFTCPP_CHECK(
      rank_pattern.is_object() && !rank_pattern.as_object().empty(),
      "[adalora] masking with the rank pattern needs a non-empty rank_pattern object, got ",
      rank_pattern.dump());
  const bool truncated = !contains(rank_pattern.as_object().key_at(0), adapter_);
  NoGradGuard g;
  for (auto [n, p] : model.named_parameters()) {
    if (!contains(n, "lora_E." + adapter_))
      continue;
    const std::string key = truncated ? replace_all(n, "." + adapter_, "") : n;
    const Json* mask = rank_pattern.find(key);
    PEFTCPP_CHECK(mask != nullptr, "[adalora] rank_pattern has no entry '", key, "'");
    PEFTCPP_CHECK(
        mask->is_array() && static_cast<std::int64_t>(mask->as_array().size()) == p.size(0),
        "[adalora] rank_pattern['",
        key,
        "'] should list ",
        p.size(0),
        " booleans, got ",
        mask->dump());
    std::vector<double> drop;
    for (const Json& v : mask->as_array()) {
      const bool kept = v.is_bool() ? v.as_bool() : v.as_double() != 0.0;
      drop.push_back(kept ? 0.0 : 1.0);
    }
    const Tensor drop_mask = ne(tensor_from_doubles(drop, {p.size(0), 1}, p.dtype()), 0.0);
    nn::set_data(p, masked_fill(p.detach(), drop_mask, 0.0));
  }
}

}  // namespace peftcpp::adalora
