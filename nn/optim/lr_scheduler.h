// LR schedules: torch's LambdaLR and the transformers schedule factories
// (get_constant_schedule[_with_warmup], get_linear_schedule_with_warmup,
// get_cosine_schedule_with_warmup).
//
// Construction stores initial_lr = lr in every group that has none and applies lambda(0); after t
// calls of step(), group.lr = initial_lr * lambda(t). Call step() after optimizer.step().
// A scheduler keeps a reference to its optimizer, which must outlive it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "nn/optim/optimizer.h"

namespace peftcpp::nn::optim {

class LambdaLR {
 public:
  using Lambda = std::function<double(std::int64_t step)>;
  LambdaLR(Optimizer& optimizer, Lambda lr_lambda);
  /// One lambda per param group.
  LambdaLR(Optimizer& optimizer, std::vector<Lambda> lr_lambdas);

  void step();
  /// Number of step() calls so far (0 right after construction).
  std::int64_t last_epoch() const {
    return last_epoch_;
  }
  /// The lrs set by the last step (or the constructor).
  std::vector<double> get_last_lr() const {
    return last_lr_;
  }
  /// lambda(t) of group `group`.
  double lr_lambda(std::int64_t t, std::size_t group = 0) const;
  Optimizer& optimizer() {
    return *optimizer_;
  }

 private:
  void apply();
  Optimizer* optimizer_;
  std::vector<Lambda> lambdas_;
  std::vector<double> base_lrs_;
  std::vector<double> last_lr_;
  std::int64_t last_epoch_ = -1;
};

/// lambda(t) = 1.
LambdaLR get_constant_schedule(Optimizer& optimizer);
/// t / max(1, W) for t < W, then 1.
LambdaLR get_constant_schedule_with_warmup(Optimizer& optimizer, std::int64_t num_warmup_steps);
/// Warmup, then max(0, (T - t) / max(1, T - W)).
LambdaLR get_linear_schedule_with_warmup(
    Optimizer& optimizer, std::int64_t num_warmup_steps, std::int64_t num_training_steps);
/// Warmup, then max(0, 0.5 (1 + cos(pi * num_cycles * 2 * (t - W) / max(1, T - W)))).
LambdaLR get_cosine_schedule_with_warmup(
    Optimizer& optimizer,
    std::int64_t num_warmup_steps,
    std::int64_t num_training_steps,
    double num_cycles = 0.5);
/// transformers' get_scheduler for "constant", "constant_with_warmup", "linear", "cosine".
LambdaLR get_scheduler(
    const std::string& name,
    Optimizer& optimizer,
    std::int64_t num_warmup_steps = 0,
    std::int64_t num_training_steps = 0);

}  // namespace peftcpp::nn::optim
