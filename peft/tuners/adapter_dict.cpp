// Adapter-keyed containers (port of peft/tuners/_buffer_dict.py @5d602fd) and their uniform ops.
#include "peft/tuners/adapter_dict.h"

#include "tensor/error.h"

namespace peftcpp {

Tensor AdapterParameterDict::pop(const std::string& key) {
  PEFTCPP_CHECK(contains(key), "[peft] ParameterDict has no adapter '", key, "' to remove");
  return remove_parameter(key);
}

Tensor& BufferDict::insert(const std::string& key, Tensor value) {
  if (Tensor* existing = find_buffer(key)) {
    *existing = std::move(value);
    return *existing;
  }
  order_.push_back(key);
  return register_buffer(key, std::move(value), persistent_);
}

bool BufferDict::contains(const std::string& key) const {
  // find_buffer is non-const (it hands out a mutable slot); looking is harmless
  const Tensor* t = const_cast<BufferDict*>(this)->find_buffer(key);
  return t != nullptr && t->defined();
}

Tensor& BufferDict::at(const std::string& key) {
  Tensor* t = find_buffer(key);
  if (t == nullptr || !t->defined()) {
    std::string known;
    for (const std::string& k : keys()) known += (known.empty() ? "'" : ", '") + k + "'";
    throw ValueError(detail::concat(
        "[peft] BufferDict has no adapter '",
        key,
        "' (has ",
        known.empty() ? std::string("none") : known,
        ")"));
  }
  return *t;
}

std::vector<std::string> BufferDict::keys() const {
  std::vector<std::string> out;
  for (const std::string& k : order_) {
    if (contains(k)) out.push_back(k);
  }
  return out;
}

void BufferDict::pop(const std::string& key) {
  if (Tensor* t = find_buffer(key))
    *t = Tensor();
}

namespace adapter_dict {

bool is_adapter_dict(const nn::Module& m) {
  return dynamic_cast<const nn::ModuleDict*>(&m) != nullptr ||
         dynamic_cast<const nn::ParameterDict*>(&m) != nullptr ||
         dynamic_cast<const BufferDict*>(&m) != nullptr;
}

std::vector<std::string> keys(const nn::Module& dict) {
  if (const auto* md = dynamic_cast<const nn::ModuleDict*>(&dict))
    return md->keys();
  if (const auto* pd = dynamic_cast<const nn::ParameterDict*>(&dict))
    return pd->keys();
  if (const auto* bd = dynamic_cast<const BufferDict*>(&dict))
    return bd->keys();
  return {};
}

bool contains(const nn::Module& dict, const std::string& key) {
  for (const std::string& k : keys(dict)) {
    if (k == key)
      return true;
  }
  return false;
}

void erase(nn::Module& dict, const std::string& key) {
  if (!contains(dict, key))
    return;
  if (auto* md = dynamic_cast<nn::ModuleDict*>(&dict)) {
    md->pop(key);
  } else if (auto* pd = dynamic_cast<AdapterParameterDict*>(&dict)) {
    pd->pop(key);
  } else if (auto* bd = dynamic_cast<BufferDict*>(&dict)) {
    bd->pop(key);
  } else {
    throw ValueError(detail::concat(
        "[peft] cannot remove adapter '",
        key,
        "' from a ",
        dict.type_name(),
        " (use AdapterParameterDict)"));
  }
}

void set_requires_grad(nn::Module& dict, const std::string& key, bool requires_grad) {
  if (!contains(dict, key))
    return;
  if (auto* md = dynamic_cast<nn::ModuleDict*>(&dict)) {
    md->at(key)->requires_grad_(requires_grad);
  } else if (auto* pd = dynamic_cast<nn::ParameterDict*>(&dict)) {
    Tensor& t = pd->at(key);
    if (t.defined() && t.is_leaf() && is_floating_point(t.dtype()))
      t.requires_grad_(requires_grad);
  }
  // BufferDict entries are never trainable.
}

}  // namespace adapter_dict
}  // namespace peftcpp
