// Module state: state_dict / load_state_dict, dtype and device conversion, printing.
#include <ostream>
#include <sstream>
#include <unordered_set>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "nn/module.h"

namespace peftcpp::nn {
namespace {

std::string join_name(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

// Indents every line but the first by `n` spaces (torch's _addindent).
std::string add_indent(const std::string& s, int n) {
  std::string out;
  const std::string pad(static_cast<std::size_t>(n), ' ');
  for (char c : s) {
    out.push_back(c);
    if (c == '\n')
      out += pad;
  }
  return out;
}

std::string quoted_list(const std::vector<std::string>& keys) {
  std::string out;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    out += (i ? ", \"" : "\"") + keys[i] + "\"";
  }
  return out;
}

}  // namespace

void set_data(Tensor& dst, const Tensor& value) {
  PEFTCPP_CHECK(dst.defined() && value.defined(), "[set_data] both tensors must be defined");
  if (dst.is_same(value))
    return;
  TensorImpl& d = *dst.impl();
  const TensorImpl& v = *value.impl();
  const bool rg = dst.requires_grad();
  PEFTCPP_CHECK_DTYPE(
      !rg || is_floating_point(v.dtype),
      "[set_data] a tensor that requires grad cannot take ",
      dtype_name(v.dtype),
      " data");
  d.storage = v.storage;
  d.shape = v.shape;
  d.strides = v.strides;
  d.offset = v.offset;
  d.dtype = v.dtype;
}

StateDict Module::state_dict(const std::string& prefix) const {
  StateDict out;
  std::function<void(const Module&, const std::string&)> walk = [&](const Module& m,
                                                                    const std::string& pre) {
    for (const TensorSlot& s : m.params_) {
      if (s.ptr->defined())
        out[join_name(pre, s.name)] = s.ptr->detach();
    }
    for (const TensorSlot& s : m.buffers_) {
      if (s.ptr->defined() && s.persistent)
        out[join_name(pre, s.name)] = s.ptr->detach();
    }
    for (const ChildSlot& c : m.children_) {
      if (c.module)
        walk(*c.module, join_name(pre, c.name));
    }
  };
  walk(*this, prefix);
  return out;
}

LoadResult Module::load_state_dict(const StateDict& state, bool strict, bool assign) {
  // name -> the slot that receives it, in module order
  std::vector<std::pair<std::string, Tensor*>> targets;
  std::function<void(Module&, const std::string&)> walk = [&](Module& m, const std::string& pre) {
    for (TensorSlot& s : m.params_) {
      if (s.ptr->defined())
        targets.emplace_back(join_name(pre, s.name), s.ptr);
    }
    for (TensorSlot& s : m.buffers_) {
      if (s.ptr->defined() && s.persistent)
        targets.emplace_back(join_name(pre, s.name), s.ptr);
    }
    for (ChildSlot& c : m.children_) {
      if (c.module)
        walk(*c.module, join_name(pre, c.name));
    }
  };
  walk(*this, "");

  LoadResult result;
  std::vector<std::string> mismatches;
  std::unordered_set<std::string> expected;
  for (auto& [name, slot] : targets) {
    expected.insert(name);
    auto it = state.find(name);
    if (it == state.end()) {
      result.missing_keys.push_back(name);
    } else if (!it->second.defined() || it->second.shape() != slot->shape()) {
      mismatches.push_back(detail::concat(
          "size mismatch for ",
          name,
          ": copying a param with shape ",
          it->second.defined() ? shape_str(it->second.shape()) : std::string("<undefined>"),
          " from checkpoint, the shape in current model is ",
          shape_str(slot->shape())));
    }
  }
  for (auto& [name, t] : state) {
    if (!expected.count(name))
      result.unexpected_keys.push_back(name);
  }
  const bool fail = !mismatches.empty() || (strict && !result.ok());
  if (fail) {
    std::ostringstream os;
    os << "[load_state_dict] Error(s) in loading state_dict for " << type_name() << ":";
    if (strict && !result.missing_keys.empty()) {
      os << "\n\tMissing key(s) in state_dict: " << quoted_list(result.missing_keys) << ".";
    }
    if (strict && !result.unexpected_keys.empty()) {
      os << "\n\tUnexpected key(s) in state_dict: " << quoted_list(result.unexpected_keys) << ".";
    }
    for (const std::string& m : mismatches) os << "\n\t" << m << ".";
    throw ValueError(os.str());
  }
  NoGradGuard no_grad;
  for (auto& [name, slot] : targets) {
    auto it = state.find(name);
    if (it == state.end() || it->second.is_same(*slot))
      continue;
    if (assign) {
      // a dtype change on assign keeps requires_grad only for floating tensors
      Tensor v = it->second.detach();
      if (slot->requires_grad() && is_floating_point(v.dtype()))
        v.requires_grad_(true);
      *slot = v;
    } else {
      slot->copy_(it->second.detach());
    }
  }
  return result;
}

void Module::convert_tensors(const std::function<Tensor(const Tensor&)>& fn) {
  NoGradGuard no_grad;
  std::unordered_set<const TensorImpl*> done;
  apply([&](Module& m) {
    for (auto* slots : {&m.params_, &m.buffers_}) {
      for (TensorSlot& s : *slots) {
        if (!s.ptr->defined() || !done.insert(s.ptr->impl().get()).second)
          continue;
        Tensor converted = fn(s.ptr->detach());
        if (!converted.defined())
          continue;
        Tensor g = s.ptr->grad();
        set_data(*s.ptr, converted);
        if (g.defined()) {
          Tensor gc = fn(g);
          s.ptr->set_grad(gc.defined() ? gc : g);
        }
      }
    }
  });
}

Module& Module::to(DType dtype) {
  PEFTCPP_CHECK_DTYPE(
      is_floating_point(dtype),
      "[Module] to(",
      dtype_name(dtype),
      "): modules can only be cast to floating-point dtypes");
  convert_tensors([dtype](const Tensor& t) -> Tensor {
    if (!is_floating_point(t.dtype()) || t.dtype() == dtype)
      return Tensor();
    return t.to(dtype);
  });
  return *this;
}

Module& Module::to(Device device) {
  convert_tensors([device](const Tensor& t) -> Tensor {
    if (t.device() == device)
      return Tensor();
    return t.to(device);
  });
  return *this;
}

void Module::repr_into(std::string& out, int indent) const {
  (void)indent;
  std::vector<std::string> lines;
  const std::string extra = extra_repr();
  if (!extra.empty()) {
    std::istringstream is(extra);
    for (std::string line; std::getline(is, line);) lines.push_back(line);
  }
  for (const ChildSlot& c : children_) {
    std::string child = c.module ? c.module->repr() : std::string("None");
    lines.push_back("(" + c.name + "): " + add_indent(child, 2));
  }
  out += type_name() + "(";
  if (children_.empty() && lines.size() <= 1) {
    if (!lines.empty())
      out += lines[0];
  } else if (!lines.empty()) {
    out += "\n";
    for (const std::string& l : lines) out += "  " + l + "\n";
  }
  out += ")";
}

std::string Module::repr() const {
  std::string out;
  repr_into(out, 0);
  return out;
}

std::ostream& operator<<(std::ostream& os, const Module& m) {
  return os << m.repr();
}

}  // namespace peftcpp::nn
