// IA3Model::add_weighted_adapter (port of _check_add_weighted_adapter and add_weighted_adapter
// in peft/tuners/ia3/model.py @5d602fd).
#include <algorithm>

#include "autograd/grad_mode.h"
#include "peft/tuners/ia3/model.h"
#include "peft/utils/auxiliary.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::ia3 {
namespace {

enum class Kind { None, String, List };

Kind kind_of(const ModuleNames& m) {
  return m.is_none() ? Kind::None : (m.is_string() ? Kind::String : Kind::List);
}

// "(a)|(b)" for regex strings, the union (first occurrence order) for lists.
ModuleNames combine(const std::vector<const ModuleNames*>& all) {
  if (kind_of(*all.front()) == Kind::String) {
    std::string s;
    for (const ModuleNames* m : all) s += (s.empty() ? "(" : "|(") + m->pattern() + ")";
    return ModuleNames(s);
  }
  std::vector<std::string> names;
  for (const ModuleNames* m : all) {
    for (const std::string& n : m->names()) {
      if (std::find(names.begin(), names.end(), n) == names.end())
        names.push_back(n);
    }
  }
  return ModuleNames(names);
}

}  // namespace

void IA3Model::add_weighted_adapter(
    const std::vector<std::string>& adapters,
    const std::vector<double>& weights,
    const std::string& adapter) {
  if (has_adapter(adapter))
    return;
  PEFTCPP_CHECK(!adapters.empty(), "[ia3] add_weighted_adapter: no adapters given");
  PEFTCPP_CHECK(
      adapters.size() == weights.size(),
      "[ia3] add_weighted_adapter: ",
      adapters.size(),
      " adapters but ",
      weights.size(),
      " weights");
  for (const std::string& a : adapters) {
    PEFTCPP_CHECK(has_adapter(a), "[ia3] Adapter ", a, " does not exist");
  }
  for (const auto& [key, m] : model_->named_modules()) {
    auto* w = dynamic_cast<ModulesToSaveWrapper*>(m.get());
    if (w == nullptr)
      continue;
    const auto n = std::count_if(adapters.begin(), adapters.end(), [&](const std::string& a) {
      return w->adapters().count(a) != 0;
    });
    PEFTCPP_CHECK(
        n <= 1,
        "[ia3] Cannot add weighted adapters targeting the same module with "
        "modules_to_save (",
        key,
        ").");
  }
  std::vector<const ModuleNames*> targets, feedforward;
  for (const std::string& a : adapters) {
    const auto& c = peft_config(a).as<IA3Config>();
    targets.push_back(&c.target_modules);
    feedforward.push_back(&c.feedforward_modules);
  }
  for (std::size_t i = 1; i < adapters.size(); ++i) {
    PEFTCPP_CHECK(
        kind_of(*targets[i]) == kind_of(*targets[0]) &&
            kind_of(*feedforward[i]) == kind_of(*feedforward[0]),
        "[ia3] All adapter configs should have the same type for target and feedforward "
        "modules.");
  }
  std::unique_ptr<PeftConfig> cfg = peft_config(adapters.front()).clone();
  auto& c = cfg->as<IA3Config>();
  if (kind_of(*targets[0]) != Kind::None)
    c.target_modules = combine(targets);
  if (kind_of(*feedforward[0]) != Kind::None)
    c.feedforward_modules = combine(feedforward);
  cfg->post_init();
  add_adapter(adapter, std::move(cfg));
  set_requires_grad({adapter}, false);

  NoGradGuard g;
  const std::string pre = prefix();
  for (const auto& [key, m] : model_->named_modules()) {
    auto* layer = dynamic_cast<IA3Layer*>(m.get());
    if (layer == nullptr || key.find(pre) != std::string::npos)
      continue;
    if (!layer->ia3_l().contains(adapter))
      continue;
    Tensor& target = layer->ia3_l().at(adapter);
    Tensor sum = zeros_like(target);
    for (std::size_t i = 0; i < adapters.size(); ++i) {
      if (!layer->ia3_l().contains(adapters[i]))
        continue;
      sum = sum + layer->ia3_l().at(adapters[i]).detach() * weights[i];
    }
    target.copy_(sum);
  }
}

}  // namespace peftcpp::ia3
