// Optimizer base: groups, lazy state, zero_grad, flat state dict.
#include "nn/optim/optimizer.h"

#include <unordered_set>

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace peftcpp::nn::optim {
namespace {

const char* const kFields[] = {
    "lr",
    "weight_decay",
    "momentum",
    "dampening",
    "nesterov",
    "beta1",
    "beta2",
    "eps",
    "amsgrad",
    "maximize"};

double* field_ptr(ParamGroup& g, const std::string& f) {
  if (f == "lr")
    return &g.lr;
  if (f == "weight_decay")
    return &g.weight_decay;
  if (f == "momentum")
    return &g.momentum;
  if (f == "dampening")
    return &g.dampening;
  if (f == "beta1")
    return &g.beta1;
  if (f == "beta2")
    return &g.beta2;
  if (f == "eps")
    return &g.eps;
  return nullptr;
}

bool* flag_ptr(ParamGroup& g, const std::string& f) {
  if (f == "nesterov")
    return &g.nesterov;
  if (f == "amsgrad")
    return &g.amsgrad;
  if (f == "maximize")
    return &g.maximize;
  return nullptr;
}

}  // namespace

std::vector<ParamGroupSpec> single_group(const TensorList& params) {
  return {ParamGroupSpec{params, {}, ""}};
}

double bump_step(ParamState& state, const Tensor& param) {
  auto it = state.find("step");
  if (it == state.end())
    it = state.emplace("step", zeros({}, kFloat32, param.device())).first;
  const double next = it->second.item<double>() + 1.0;
  it->second.fill_(next);
  return next;
}

Optimizer::Optimizer(const ParamGroup& defaults) : defaults_(defaults) {}

void Optimizer::init_groups(const std::vector<ParamGroupSpec>& groups) {
  validate(defaults_);
  PEFTCPP_CHECK(!groups.empty(), "[optim] ", type_name(), " got an empty list of parameter groups");
  for (const ParamGroupSpec& g : groups) add_param_group(g);
}

void Optimizer::add_param_group(const ParamGroupSpec& spec) {
  ParamGroup g = defaults_;
  g.params = spec.params;
  g.name = spec.name;
  g.initial_lr.reset();
  const GroupOptions& o = spec.options;
  if (o.lr)
    g.lr = *o.lr;
  if (o.weight_decay)
    g.weight_decay = *o.weight_decay;
  if (o.momentum)
    g.momentum = *o.momentum;
  if (o.dampening)
    g.dampening = *o.dampening;
  if (o.beta1)
    g.beta1 = *o.beta1;
  if (o.beta2)
    g.beta2 = *o.beta2;
  if (o.eps)
    g.eps = *o.eps;
  if (o.nesterov)
    g.nesterov = *o.nesterov;
  if (o.amsgrad)
    g.amsgrad = *o.amsgrad;
  if (o.maximize)
    g.maximize = *o.maximize;
  std::unordered_set<const TensorImpl*> seen;
  for (const ParamGroup& other : groups_) {
    for (const Tensor& p : other.params) seen.insert(p.impl().get());
  }
  for (std::size_t i = 0; i < g.params.size(); ++i) {
    const Tensor& p = g.params[i];
    PEFTCPP_CHECK(
        p.defined(),
        "[optim] ",
        type_name(),
        ": parameter ",
        i,
        " of group ",
        groups_.size(),
        " is undefined");
    PEFTCPP_CHECK(
        p.is_leaf(),
        "[optim] ",
        type_name(),
        ": can't optimize a non-leaf tensor (parameter ",
        i,
        " of group ",
        groups_.size(),
        ", shape ",
        shape_str(p.shape()),
        ")");
    PEFTCPP_CHECK(
        is_floating_point(p.dtype()),
        "[optim] ",
        type_name(),
        ": parameter ",
        i,
        " of group ",
        groups_.size(),
        " is ",
        dtype_name(p.dtype()),
        ", not floating point");
    PEFTCPP_CHECK(
        seen.insert(p.impl().get()).second,
        "[optim] ",
        type_name(),
        ": parameter ",
        i,
        " of group ",
        groups_.size(),
        " appears in more than one parameter group (or twice in one)");
  }
  validate(g);
  groups_.push_back(std::move(g));
}

void Optimizer::step() {
  NoGradGuard ng;
  for (ParamGroup& group : groups_) {
    for (Tensor& p : group.params) {
      Tensor g = p.grad();
      if (!g.defined())
        continue;
      PEFTCPP_CHECK_SHAPE(
          g.shape() == p.shape(),
          "[optim] ",
          type_name(),
          ": gradient ",
          shape_str(g.shape()),
          " does not match parameter ",
          shape_str(p.shape()));
      update(group, p, g, state_[p.impl().get()]);
    }
  }
}

void Optimizer::zero_grad(bool set_to_none) {
  for (ParamGroup& group : groups_) {
    for (Tensor& p : group.params) {
      Tensor g = p.grad();
      if (!g.defined())
        continue;
      if (set_to_none) {
        p.set_grad(Tensor());
      } else {
        NoGradGuard ng;
        g.zero_();
      }
    }
  }
}

const ParamState* Optimizer::state(const Tensor& param) const {
  auto it = state_.find(param.impl().get());
  return it == state_.end() ? nullptr : &it->second;
}

ParamState* Optimizer::state(const Tensor& param) {
  auto it = state_.find(param.impl().get());
  return it == state_.end() ? nullptr : &it->second;
}

OptimizerStateDict Optimizer::state_dict() const {
  OptimizerStateDict out;
  std::int64_t id = 0;
  for (std::size_t gi = 0; gi < groups_.size(); ++gi) {
    ParamGroup g = groups_[gi];
    const std::string pre = "param_groups." + std::to_string(gi) + ".";
    std::vector<std::int64_t> ids;
    for (const Tensor& p : g.params) {
      const ParamState* st = state(p);
      if (st) {
        for (const auto& [key, value] : *st) {
          out["state." + std::to_string(id) + "." + key] = value.detach().clone();
        }
      }
      ids.push_back(id++);
    }
    out[pre + "params"] = tensor<std::int64_t>(ids, {static_cast<std::int64_t>(ids.size())});
    for (const char* f : kFields) {
      const double v = field_ptr(g, f) ? *field_ptr(g, f) : (*flag_ptr(g, f) ? 1.0 : 0.0);
      out[pre + f] = scalar_tensor(v, kFloat64);
    }
    if (g.initial_lr)
      out[pre + "initial_lr"] = scalar_tensor(*g.initial_lr, kFloat64);
  }
  return out;
}

void Optimizer::load_state_dict(const OptimizerStateDict& sd) {
  // Validate the layout first, then apply.
  std::int64_t id = 0;
  std::vector<const Tensor*> by_id;
  for (std::size_t gi = 0; gi < groups_.size(); ++gi) {
    const std::string key = "param_groups." + std::to_string(gi) + ".params";
    auto it = sd.find(key);
    PEFTCPP_CHECK(
        it != sd.end(),
        "[optim] load_state_dict: missing '",
        key,
        "' (the saved optimizer has fewer ",
        "param groups than this one, ",
        groups_.size(),
        ")");
    PEFTCPP_CHECK(
        it->second.numel() == static_cast<std::int64_t>(groups_[gi].params.size()),
        "[optim] load_state_dict: group ",
        gi,
        " has ",
        groups_[gi].params.size(),
        " parameters but the saved group has ",
        it->second.numel());
    for (Tensor& p : groups_[gi].params) {
      by_id.push_back(&p);
      ++id;
    }
  }
  PEFTCPP_CHECK(
      !sd.count("param_groups." + std::to_string(groups_.size()) + ".params"),
      "[optim] load_state_dict: the saved optimizer has more than ",
      groups_.size(),
      " param groups");
  std::unordered_map<const TensorImpl*, ParamState> new_state;
  for (const auto& [key, value] : sd) {
    if (key.rfind("state.", 0) != 0)
      continue;
    const std::size_t dot = key.find('.', 6);
    const std::string id_text = dot == std::string::npos ? "" : key.substr(6, dot - 6);
    PEFTCPP_CHECK(
        !id_text.empty() && id_text.size() < 10 &&
            id_text.find_first_not_of("0123456789") == std::string::npos,
        "[optim] load_state_dict: malformed key '",
        key,
        "' (expected state.<index>.<name>)");
    const std::int64_t pid = std::stoll(id_text);
    PEFTCPP_CHECK(
        pid >= 0 && pid < id,
        "[optim] load_state_dict: key '",
        key,
        "' refers to parameter ",
        pid,
        " but there are ",
        id);
    const Tensor& p = *by_id[static_cast<std::size_t>(pid)];
    const std::string field = key.substr(dot + 1);
    Tensor v = value.detach();
    if (field == "step") {
      v = v.to(kFloat32).to(p.device()).clone();
    } else {
      PEFTCPP_CHECK_SHAPE(
          v.shape() == p.shape(),
          "[optim] load_state_dict: '",
          key,
          "' has shape ",
          shape_str(v.shape()),
          " but the parameter has ",
          shape_str(p.shape()));
      v = v.to(p.dtype()).to(p.device()).clone();
    }
    new_state[p.impl().get()][field] = v;
  }
  for (std::size_t gi = 0; gi < groups_.size(); ++gi) {
    ParamGroup& g = groups_[gi];
    const std::string pre = "param_groups." + std::to_string(gi) + ".";
    for (const char* f : kFields) {
      auto it = sd.find(pre + f);
      if (it == sd.end())
        continue;
      const double v = it->second.item<double>();
      if (double* d = field_ptr(g, f)) {
        *d = v;
      } else {
        *flag_ptr(g, f) = v != 0.0;
      }
    }
    auto it = sd.find(pre + "initial_lr");
    if (it != sd.end())
      g.initial_lr = it->second.item<double>();
  }
  state_ = std::move(new_state);
}

}  // namespace peftcpp::nn::optim
