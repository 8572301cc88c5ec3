// ModuleList, ModuleDict, ParameterDict, Sequential.
#include "nn/containers.h"

#include <sstream>

namespace peftcpp::nn {

ModuleList::ModuleList(const std::vector<ModulePtr>& modules) {
  for (const ModulePtr& m : modules) push_back(m);
}

void ModuleList::push_back(ModulePtr module) {
  PEFTCPP_CHECK(module != nullptr, "[ModuleList] cannot append a null module");
  register_module(std::to_string(size()), std::move(module));
}

ModulePtr ModuleList::at(std::int64_t i) const {
  const auto n = static_cast<std::int64_t>(size());
  PEFTCPP_CHECK_INDEX(
      i >= -n && i < n, "[ModuleList] index ", i, " is out of range for a list of ", n, " modules");
  return child_slots()[static_cast<std::size_t>(i < 0 ? i + n : i)].module;
}

void ModuleDict::insert(const std::string& key, ModulePtr module) {
  PEFTCPP_CHECK(module != nullptr, "[ModuleDict] cannot insert a null module under '", key, "'");
  if (has_child(key)) {
    replace_child(key, std::move(module));
  } else {
    register_module(key, std::move(module));
  }
}

std::vector<std::string> ModuleDict::keys() const {
  std::vector<std::string> out;
  for (const ChildSlot& c : child_slots()) out.push_back(c.name);
  return out;
}

ModulePtr ModuleDict::at(const std::string& key) const {
  ModulePtr m = find_child(key);
  if (!m) {
    std::string known;
    for (const std::string& k : keys()) known += (known.empty() ? "'" : ", '") + k + "'";
    throw ValueError(detail::concat(
        "[ModuleDict] no entry '", key, "' (keys: ", known.empty() ? "none" : known, ")"));
  }
  return m;
}

ModulePtr ModuleDict::pop(const std::string& key) {
  ModulePtr m = at(key);
  remove_child(key);
  return m;
}

Tensor& ParameterDict::insert(const std::string& key, Tensor value, bool requires_grad) {
  if (Tensor* existing = find_parameter(key)) {
    PEFTCPP_CHECK(value.is_leaf(), "[ParameterDict] parameter '", key, "' must be a leaf tensor");
    if (value.defined() && is_floating_point(value.dtype()))
      value.requires_grad_(requires_grad);
    *existing = std::move(value);
    return *existing;
  }
  return register_parameter(key, std::move(value), requires_grad);
}

bool ParameterDict::contains(const std::string& key) const {
  for (const TensorSlot& s : parameter_slots()) {
    if (s.name == key)
      return true;
  }
  return false;
}

Tensor& ParameterDict::at(const std::string& key) {
  Tensor* t = find_parameter(key);
  if (!t) {
    std::string known;
    for (const std::string& k : keys()) known += (known.empty() ? "'" : ", '") + k + "'";
    throw ValueError(detail::concat(
        "[ParameterDict] no entry '", key, "' (keys: ", known.empty() ? "none" : known, ")"));
  }
  return *t;
}

std::vector<std::string> ParameterDict::keys() const {
  std::vector<std::string> out;
  for (const TensorSlot& s : parameter_slots()) out.push_back(s.name);
  return out;
}

std::string ParameterDict::extra_repr() const {
  std::ostringstream os;
  bool first = true;
  for (const TensorSlot& s : parameter_slots()) {
    if (!first)
      os << "\n";
    first = false;
    os << "(" << s.name << "): Parameter containing: [" << dtype_name(s.ptr->dtype()) << " of size "
       << shape_str(s.ptr->shape()) << "]";
  }
  return os.str();
}

Sequential::Sequential(const std::vector<std::shared_ptr<UnaryModule>>& modules) {
  for (const auto& m : modules) push_back(m);
}

void Sequential::push_back(std::shared_ptr<UnaryModule> module) {
  PEFTCPP_CHECK(module != nullptr, "[Sequential] cannot append a null module");
  register_module(std::to_string(size()), std::move(module));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (const ChildSlot& c : child_slots()) {
    auto* m = dynamic_cast<UnaryModule*>(c.module.get());
    PEFTCPP_CHECK(
        m != nullptr,
        "[Sequential] child '",
        c.name,
        "' (",
        c.module ? c.module->type_name() : std::string("None"),
        ") is not a unary module");
    h = m->forward(h);
  }
  return h;
}

}  // namespace peftcpp::nn
