// Module registries, dotted-name traversal and child replacement.
#include "nn/module.h"

#include <ostream>
#include <unordered_set>

#include "autograd/node.h"

namespace peftcpp::nn {
namespace {

std::string join_name(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  if (path.empty())
    return parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos)
      break;
    start = dot + 1;
  }
  return parts;
}

// "a.b.c" -> ("a.b", "c")
std::pair<std::string, std::string> split_last(const std::string& path) {
  const std::size_t dot = path.rfind('.');
  if (dot == std::string::npos)
    return {"", path};
  return {path.substr(0, dot), path.substr(dot + 1)};
}

}  // namespace

void Module::check_new_name(const std::string& name, const char* what) const {
  PEFTCPP_CHECK(
      !name.empty() && name.find('.') == std::string::npos,
      "[Module] ",
      type_name(),
      ": ",
      what,
      " name '",
      name,
      "' must be non-empty and contain no '.'");
  auto taken = [&](const auto& slots) {
    for (const auto& s : slots) {
      if (s.name == name)
        return true;
    }
    return false;
  };
  PEFTCPP_CHECK(
      !taken(params_) && !taken(buffers_) && !taken(children_),
      "[Module] ",
      type_name(),
      ": cannot register ",
      what,
      " '",
      name,
      "': the name is already used");
}

Tensor& Module::add_tensor_slot(
    std::vector<TensorSlot>& slots,
    const std::string& name,
    Tensor* slot,
    Tensor value,
    bool persistent) {
  TensorSlot s;
  s.name = name;
  s.persistent = persistent;
  if (slot) {
    s.ptr = slot;
  } else {
    s.owned = std::make_unique<Tensor>(std::move(value));
    s.ptr = s.owned.get();
  }
  slots.push_back(std::move(s));
  return *slots.back().ptr;
}

Tensor& Module::register_parameter(const std::string& name, Tensor value, bool requires_grad) {
  check_new_name(name, "parameter");
  PEFTCPP_CHECK(
      !value.defined() || value.is_leaf(),
      "[Module] ",
      type_name(),
      ": parameter '",
      name,
      "' must be a leaf tensor (detach() it first)");
  if (value.defined() && is_floating_point(value.dtype()))
    value.requires_grad_(requires_grad);
  return add_tensor_slot(params_, name, nullptr, std::move(value), true);
}

Tensor& Module::register_parameter(const std::string& name, Tensor* slot, bool requires_grad) {
  PEFTCPP_CHECK(slot != nullptr, "[Module] register_parameter('", name, "'): null slot");
  check_new_name(name, "parameter");
  PEFTCPP_CHECK(
      !slot->defined() || slot->is_leaf(),
      "[Module] ",
      type_name(),
      ": parameter '",
      name,
      "' must be a leaf tensor (detach() it first)");
  if (slot->defined() && is_floating_point(slot->dtype()))
    slot->requires_grad_(requires_grad);
  return add_tensor_slot(params_, name, slot, Tensor(), true);
}

Tensor& Module::register_buffer(const std::string& name, Tensor value, bool persistent) {
  check_new_name(name, "buffer");
  return add_tensor_slot(buffers_, name, nullptr, std::move(value), persistent);
}

Tensor& Module::register_buffer(const std::string& name, Tensor* slot, bool persistent) {
  PEFTCPP_CHECK(slot != nullptr, "[Module] register_buffer('", name, "'): null slot");
  check_new_name(name, "buffer");
  return add_tensor_slot(buffers_, name, slot, Tensor(), persistent);
}

void Module::add_child_slot(
    const std::string& name, const ModulePtr& module, std::function<bool(const ModulePtr&)> bind) {
  check_new_name(name, "child module");
  PEFTCPP_CHECK(
      module.get() != this, "[Module] cannot register a module as its own child ('", name, "')");
  children_.push_back(ChildSlot{name, module, std::move(bind)});
}

ModulePtr Module::remove_child(const std::string& name) {
  for (auto it = children_.begin(); it != children_.end(); ++it) {
    if (it->name != name)
      continue;
    ModulePtr m = it->module;
    if (it->bind)
      it->bind(nullptr);
    children_.erase(it);
    return m;
  }
  throw ValueError(
      detail::concat("[Module] ", type_name(), " has no child '", name, "' to remove"));
}

Tensor Module::remove_parameter(const std::string& name) {
  for (auto it = params_.begin(); it != params_.end(); ++it) {
    if (it->name != name)
      continue;
    Tensor t = *it->ptr;
    params_.erase(it);
    return t;
  }
  throw ValueError(
      detail::concat("[Module] ", type_name(), " has no parameter '", name, "' to remove"));
}

// ---- lookup ------------------------------------------------------------------------------------

Module::ChildSlot* Module::find_child_slot(const std::string& name) {
  for (ChildSlot& c : children_) {
    if (c.name == name)
      return &c;
  }
  return nullptr;
}

ModulePtr Module::find_child(const std::string& name) const {
  for (const ChildSlot& c : children_) {
    if (c.name == name)
      return c.module;
  }
  return nullptr;
}

bool Module::has_child(const std::string& name) const {
  return find_child(name) != nullptr;
}

Tensor* Module::find_parameter(const std::string& name) {
  for (TensorSlot& s : params_) {
    if (s.name == name)
      return s.ptr;
  }
  return nullptr;
}

Tensor* Module::find_buffer(const std::string& name) {
  for (TensorSlot& s : buffers_) {
    if (s.name == name)
      return s.ptr;
  }
  return nullptr;
}

ModulePtr Module::self_ptr() {
  ModulePtr self = weak_from_this().lock();
  PEFTCPP_CHECK(self != nullptr, "[Module] ", type_name(),
                " is not owned by a std::shared_ptr; create modules with std::make_shared");
  return self;
}

ModulePtr Module::get_submodule(const std::string& path) {
  ModulePtr cur = self_ptr();
  std::string walked;
  for (const std::string& part : split_path(path)) {
    ModulePtr next = cur->find_child(part);
    if (!next) {
      throw ValueError(detail::concat(
          "[Module] get_submodule('",
          path,
          "'): ",
          walked.empty() ? std::string("the root") : "'" + walked + "'",
          " (",
          cur->type_name(),
          ") has no child '",
          part,
          "'"));
    }
    walked = join_name(walked, part);
    cur = next;
  }
  return cur;
}

Tensor& Module::get_parameter(const std::string& path) {
  auto [parent, name] = split_last(path);
  Tensor* t = get_submodule(parent)->find_parameter(name);
  PEFTCPP_CHECK(
      t != nullptr,
      "[Module] get_parameter('",
      path,
      "'): no parameter '",
      name,
      "' in '",
      parent,
      "'");
  return *t;
}

Tensor& Module::get_buffer(const std::string& path) {
  auto [parent, name] = split_last(path);
  Tensor* t = get_submodule(parent)->find_buffer(name);
  PEFTCPP_CHECK(
      t != nullptr, "[Module] get_buffer('", path, "'): no buffer '", name, "' in '", parent, "'");
  return *t;
}

ModulePtr Module::replace_child(const std::string& path, ModulePtr module) {
  PEFTCPP_CHECK(
      !path.empty(), "[Module] replace_child: empty path (cannot replace the root module)");
  auto [parent_path, name] = split_last(path);
  ModulePtr parent = get_submodule(parent_path);
  ChildSlot* slot = parent->find_child_slot(name);
  PEFTCPP_CHECK(
      slot != nullptr,
      "[Module] replace_child('",
      path,
      "'): '",
      parent_path.empty() ? std::string("the root") : parent_path,
      "' (",
      parent->type_name(),
      ") has no child '",
      name,
      "'");
  PEFTCPP_CHECK(
      module.get() != parent.get(),
      "[Module] replace_child('",
      path,
      "'): a module cannot be its own child");
  if (slot->bind && !slot->bind(module)) {
    throw ValueError(detail::concat(
        "[Module] replace_child('",
        path,
        "'): the member slot of ",
        parent->type_name(),
        " cannot hold a ",
        module ? module->type_name() : std::string("null"),
        " (it was declared with a more specific type than the new module has)"));
  }
  ModulePtr old = slot->module;
  slot->module = std::move(module);
  return old;
}

void Module::set_submodule(const std::string& path, ModulePtr module) {
  auto [parent_path, name] = split_last(path);
  ModulePtr parent = get_submodule(parent_path);
  if (parent->find_child_slot(name)) {
    replace_child(path, std::move(module));
  } else {
    parent->add_child_slot(name, module, nullptr);
  }
}

// ---- modes ---------------------------------------------------------------------------------

Module& Module::train(bool on) {
  training_ = on;
  for (ChildSlot& c : children_) {
    if (c.module)
      c.module->train(on);
  }
  return *this;
}

Module& Module::requires_grad_(bool on) {
  for (Tensor& p : parameters()) {
    if (is_floating_point(p.dtype()))
      p.requires_grad_(on);
  }
  return *this;
}

void Module::zero_grad(bool set_to_none) {
  for (Tensor& p : parameters()) {
    Tensor g = p.grad();
    if (!g.defined())
      continue;
    if (set_to_none) {
      p.set_grad(Tensor());
    } else {
      g.zero_();
    }
  }
}

Module& Module::apply(const std::function<void(Module&)>& fn) {
  for (ChildSlot& c : children_) {
    if (c.module)
      c.module->apply(fn);
  }
  fn(*this);
  return *this;
}

std::int64_t Module::num_parameters(bool trainable_only) const {
  std::int64_t n = 0;
  for (auto& [name, p] : named_parameters()) {
    if (!trainable_only || p.requires_grad())
      n += p.numel();
  }
  return n;
}

}  // namespace peftcpp::nn
