// Optimizer base with PyTorch's param groups and per-parameter state.
//
// Semantics follow torch.optim (1.13, single-tensor path): step() walks the groups in order and
// each group's params in the order given; a parameter whose .grad is undefined is skipped
// entirely (no decay, no state); an all-zero grad is NOT skipped. State is created lazily on
// the first step with a gradient, under PyTorch's keys ("step", "exp_avg", "exp_avg_sq",
// "max_exp_avg_sq", "momentum_buffer").
//
// Gradient accumulation is simply not zeroing between backward passes:
//   opt.zero_grad();
//   for (micro-batch j of M) { Tensor l = loss_fn(model, batch_j); mul(l, 1.0 / M).backward(); }
//   clip_grad_norm_(params, max_norm);  // optional
//   opt.step();
#pragma once

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tensor/tensor.h"

namespace peftcpp::nn::optim {

/// Hyperparameters a param group may override; unset fields take the optimizer's defaults.
struct GroupOptions {
  std::optional<double> lr = std::nullopt;
  std::optional<double> weight_decay = std::nullopt;
  std::optional<double> momentum = std::nullopt;
  std::optional<double> dampening = std::nullopt;
  std::optional<double> beta1 = std::nullopt;
  std::optional<double> beta2 = std::nullopt;
  std::optional<double> eps = std::nullopt;
  std::optional<bool> nesterov = std::nullopt;
  std::optional<bool> amsgrad = std::nullopt;
  std::optional<bool> maximize = std::nullopt;
};

/// What the user passes per group (PyTorch's {'params': [...], 'lr': ...}).
struct ParamGroupSpec {
  TensorList params;
  GroupOptions options;
  std::string name;  // optional label (LoRA+: "groupA", "groupB", ...)
};

/// A group with every hyperparameter resolved; schedulers change `lr` between steps.
struct ParamGroup {
  TensorList params;
  double lr = 1e-3;
  double weight_decay = 0.0;
  double momentum = 0.0;   // SGD
  double dampening = 0.0;  // SGD
  bool nesterov = false;   // SGD
  double beta1 = 0.9;      // Adam / AdamW
  double beta2 = 0.999;
  double eps = 1e-8;
  bool amsgrad = false;
  bool maximize = false;
  std::optional<double> initial_lr;  // set by LR schedulers (PyTorch's 'initial_lr')
  std::string name;
};

/// Per-parameter state under PyTorch's keys.
using ParamState = std::map<std::string, Tensor>;
/// Flat optimizer state: "state.<i>.<key>" tensors (i = position of the parameter over all
/// groups, PyTorch's state_dict ids), "param_groups.<g>.<field>" float64 0-d tensors and
/// "param_groups.<g>.params" int64 ids: serialisable to safetensors as is.
using OptimizerStateDict = std::map<std::string, Tensor>;

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual std::string type_name() const = 0;
  /// One update of every parameter that has a gradient.
  void step();
  /// Clears (set_to_none) or zero-fills every parameter's gradient.
  void zero_grad(bool set_to_none = true);

  std::vector<ParamGroup>& param_groups() {
    return groups_;
  }
  const std::vector<ParamGroup>& param_groups() const {
    return groups_;
  }
  /// Adds a group (defaults fill unset options); a parameter may be in only one group.
  void add_param_group(const ParamGroupSpec& spec);
  const ParamGroup& defaults() const {
    return defaults_;
  }

  /// The state of `param` (nullptr before its first update).
  const ParamState* state(const Tensor& param) const;
  ParamState* state(const Tensor& param);

  OptimizerStateDict state_dict() const;
  /// Restores hyperparameters and state saved by state_dict() from an optimizer built over the
  /// same parameter layout (same group count and sizes); floating state is cast to the
  /// parameter's dtype/device ("step" stays float32). Throws ValueError naming the key.
  void load_state_dict(const OptimizerStateDict& sd);

 protected:
  explicit Optimizer(const ParamGroup& defaults);
  /// Adds the groups; derived constructors call it (virtual validate() is not usable earlier).
  void init_groups(const std::vector<ParamGroupSpec>& groups);
  /// Updates one parameter (grad defined) of `group`; runs under NoGradGuard.
  virtual void update(ParamGroup& group, Tensor& param, const Tensor& grad, ParamState& state) = 0;
  /// Checks a resolved group's hyperparameters (throws ValueError).
  virtual void validate(const ParamGroup& group) const = 0;

 private:
  ParamGroup defaults_;
  std::vector<ParamGroup> groups_;
  std::unordered_map<const TensorImpl*, ParamState> state_;
};

/// One group holding `params` with no overrides.
std::vector<ParamGroupSpec> single_group(const TensorList& params);

/// Increments a float32 0-d "step" state tensor (created as 0) and returns the new value.
double bump_step(ParamState& state, const Tensor& param);

}  // namespace peftcpp::nn::optim
