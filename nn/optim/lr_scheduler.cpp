// LambdaLR and the transformers schedules (lambdas in double, as Python floats).
#include "nn/optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace peftcpp::nn::optim {

LambdaLR::LambdaLR(Optimizer& optimizer, Lambda lr_lambda)
    : LambdaLR(optimizer, std::vector<Lambda>(optimizer.param_groups().size(), lr_lambda)) {}

LambdaLR::LambdaLR(Optimizer& optimizer, std::vector<Lambda> lr_lambdas)
    : optimizer_(&optimizer), lambdas_(std::move(lr_lambdas)) {
  auto& groups = optimizer_->param_groups();
  PEFTCPP_CHECK(
      lambdas_.size() == groups.size(),
      "[LambdaLR] expected ",
      groups.size(),
      " lr_lambdas (one per ",
      "param group), got ",
      lambdas_.size());
  for (ParamGroup& g : groups) {
    if (!g.initial_lr)
      g.initial_lr = g.lr;
    base_lrs_.push_back(*g.initial_lr);
  }
  step();
}

double LambdaLR::lr_lambda(std::int64_t t, std::size_t group) const {
  PEFTCPP_CHECK_INDEX(group < lambdas_.size(), "[LambdaLR] group ", group, " out of range");
  return lambdas_[group](t);
}

void LambdaLR::step() {
  ++last_epoch_;
  apply();
}

void LambdaLR::apply() {
  auto& groups = optimizer_->param_groups();
  PEFTCPP_CHECK(
      groups.size() == base_lrs_.size(),
      "[LambdaLR] the optimizer has ",
      groups.size(),
      " param groups but the scheduler was built for ",
      base_lrs_.size());
  last_lr_.clear();
  for (std::size_t i = 0; i < groups.size(); ++i) {
    groups[i].lr = base_lrs_[i] * lambdas_[i](last_epoch_);
    last_lr_.push_back(groups[i].lr);
  }
}

namespace {

double warmup(std::int64_t t, std::int64_t w) {
  return static_cast<double>(t) / static_cast<double>(std::max<std::int64_t>(1, w));
}

void check_steps(std::int64_t w, std::int64_t total, bool need_total, const char* name) {
  PEFTCPP_CHECK(w >= 0, "[", name, "] num_warmup_steps must be non-negative, got ", w);
  PEFTCPP_CHECK(
      !need_total || total >= 0,
      "[",
      name,
      "] num_training_steps must be non-negative, got ",
      total);
}

}  // namespace

LambdaLR get_constant_schedule(Optimizer& optimizer) {
  return LambdaLR(optimizer, [](std::int64_t) { return 1.0; });
}

LambdaLR get_constant_schedule_with_warmup(Optimizer& optimizer, std::int64_t w) {
  check_steps(w, 0, false, "get_constant_schedule_with_warmup");
  return LambdaLR(optimizer, [w](std::int64_t t) { return t < w ? warmup(t, w) : 1.0; });
}

LambdaLR get_linear_schedule_with_warmup(Optimizer& optimizer, std::int64_t w, std::int64_t total) {
  check_steps(w, total, true, "get_linear_schedule_with_warmup");
  return LambdaLR(optimizer, [w, total](std::int64_t t) {
    if (t < w)
      return warmup(t, w);
    return std::max(
        0.0,
        static_cast<double>(total - t) / static_cast<double>(std::max<std::int64_t>(1, total - w)));
  });
}

LambdaLR get_cosine_schedule_with_warmup(
    Optimizer& optimizer, std::int64_t w, std::int64_t total, double num_cycles) {
  check_steps(w, total, true, "get_cosine_schedule_with_warmup");
  return LambdaLR(optimizer, [w, total, num_cycles](std::int64_t t) {
    if (t < w)
      return warmup(t, w);
    const double progress =
        static_cast<double>(t - w) / static_cast<double>(std::max<std::int64_t>(1, total - w));
    return std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * num_cycles * 2.0 * progress)));
  });
}

LambdaLR get_scheduler(
    const std::string& name, Optimizer& optimizer, std::int64_t w, std::int64_t total) {
  if (name == "constant")
    return get_constant_schedule(optimizer);
  if (name == "constant_with_warmup")
    return get_constant_schedule_with_warmup(optimizer, w);
  if (name == "linear")
    return get_linear_schedule_with_warmup(optimizer, w, total);
  if (name == "cosine")
    return get_cosine_schedule_with_warmup(optimizer, w, total);
  throw ValueError(
      "[get_scheduler] unknown schedule '" + name +
      "'; supported: constant, constant_with_warmup, linear, cosine");
}

}  // namespace peftcpp::nn::optim
