// Module traversal: named_parameters / named_buffers / named_modules / children, depth first in
// registration order, each module and tensor once (as PyTorch's remove_duplicate=True).
#include <functional>
#include <unordered_set>

#include "nn/module.h"

namespace peftcpp::nn {
namespace {

std::string join_name(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

}  // namespace

NamedTensors Module::named_parameters(const std::string& prefix, bool recurse) const {
  NamedTensors out;
  std::unordered_set<const TensorImpl*> seen;
  std::unordered_set<const Module*> seen_modules;
  std::function<void(const Module&, const std::string&)> walk = [&](const Module& m,
                                                                    const std::string& pre) {
    if (!seen_modules.insert(&m).second)
      return;
    for (const TensorSlot& s : m.params_) {
      if (!s.ptr->defined() || !seen.insert(s.ptr->impl().get()).second)
        continue;
      out.emplace_back(join_name(pre, s.name), *s.ptr);
    }
    if (!recurse)
      return;
    for (const ChildSlot& c : m.children_) {
      if (c.module)
        walk(*c.module, join_name(pre, c.name));
    }
  };
  walk(*this, prefix);
  return out;
}

TensorList Module::parameters(bool recurse) const {
  TensorList out;
  for (auto& [name, t] : named_parameters("", recurse)) out.push_back(t);
  return out;
}

NamedTensors Module::named_buffers(const std::string& prefix, bool recurse) const {
  NamedTensors out;
  std::unordered_set<const TensorImpl*> seen;
  std::unordered_set<const Module*> seen_modules;
  std::function<void(const Module&, const std::string&)> walk = [&](const Module& m,
                                                                    const std::string& pre) {
    if (!seen_modules.insert(&m).second)
      return;
    for (const TensorSlot& s : m.buffers_) {
      if (!s.ptr->defined() || !seen.insert(s.ptr->impl().get()).second)
        continue;
      out.emplace_back(join_name(pre, s.name), *s.ptr);
    }
    if (!recurse)
      return;
    for (const ChildSlot& c : m.children_) {
      if (c.module)
        walk(*c.module, join_name(pre, c.name));
    }
  };
  walk(*this, prefix);
  return out;
}

TensorList Module::buffers(bool recurse) const {
  TensorList out;
  for (auto& [name, t] : named_buffers("", recurse)) out.push_back(t);
  return out;
}

NamedModules Module::named_modules(const std::string& prefix) {
  NamedModules out;
  std::unordered_set<const Module*> seen;
  std::function<void(const ModulePtr&, const std::string&)> walk = [&](const ModulePtr& m,
                                                                       const std::string& pre) {
    if (!seen.insert(m.get()).second)
      return;
    out.emplace_back(pre, m);
    for (const ChildSlot& c : m->children_) {
      if (c.module)
        walk(c.module, join_name(pre, c.name));
    }
  };
  walk(self_ptr(), prefix);
  return out;
}

NamedModules Module::named_children() const {
  NamedModules out;
  std::unordered_set<const Module*> seen;
  for (const ChildSlot& c : children_) {
    if (c.module && seen.insert(c.module.get()).second)
      out.emplace_back(c.name, c.module);
  }
  return out;
}

std::vector<ModulePtr> Module::children() const {
  std::vector<ModulePtr> out;
  for (auto& [name, m] : named_children()) out.push_back(m);
  return out;
}

std::vector<ModulePtr> Module::modules() {
  std::vector<ModulePtr> out;
  for (auto& [name, m] : named_modules()) out.push_back(m);
  return out;
}

}  // namespace peftcpp::nn
