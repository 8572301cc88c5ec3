// Structural state-dict helpers (port of _get_tuner_state_dict_key_prefixes,
// _is_key_under_prefixes, _filter_state_dict_by_key_prefixes and
// _remove_adapter_name_from_state_dict_key in peft/tuners/tuners_utils.py @5d602fd).
#include "peft/tuners/tuners_utils.h"

#include "peft/utils/auxiliary.h"

namespace peftcpp {
namespace {

std::string join(const std::string& a, const std::string& b) {
  return a.empty() ? b : a + "." + b;
}

void add_attr_prefixes(
    nn::Module& m,
    const std::string& name,
    const std::optional<std::string>& adapter,
    std::set<std::string>& out) {
  auto add = [&](const std::string& attr, const nn::Module* child) {
    if (attr == "base_layer" || attr == "model")
      return;
    const std::string p = join(name, attr);
    if (adapter && child != nullptr && adapter_dict::is_adapter_dict(*child)) {
      if (adapter_dict::contains(*child, *adapter))
        out.insert(p + "." + *adapter);
    } else {
      out.insert(p);
    }
  };
  for (const auto& [n, c] : m.named_children()) {
    if (c)
      add(n, c.get());
  }
  for (const auto& [n, t] : m.named_parameters("", false)) add(n, nullptr);
  for (const auto& [n, t] : m.named_buffers("", false)) add(n, nullptr);
}

}  // namespace

std::set<std::string> tuner_state_dict_key_prefixes(
    nn::Module& root, const std::optional<std::string>& adapter) {
  std::set<std::string> prefixes;
  std::set<std::string> aux;
  for (const auto& [name, m] : root.named_modules()) {
    if (dynamic_cast<AuxiliaryTrainingWrapper*>(m.get()) != nullptr) {
      aux.insert(name);
    } else if (
        dynamic_cast<BaseTuner*>(m.get()) != nullptr ||
        (dynamic_cast<BaseTunerLayer*>(m.get()) != nullptr && !is_key_under_prefixes(name, aux))) {
      add_attr_prefixes(*m, name, adapter, prefixes);
    }
  }
  return prefixes;
}

bool is_key_under_prefixes(const std::string& key, const std::set<std::string>& prefixes) {
  if (prefixes.empty())
    return false;
  std::string sub = key;
  while (true) {
    if (prefixes.count(sub))
      return true;
    const auto dot = sub.rfind('.');
    if (dot == std::string::npos)
      return false;
    sub.resize(dot);
  }
}

nn::StateDict filter_state_dict_by_prefixes(
    const nn::StateDict& state, const std::set<std::string>& prefixes) {
  nn::StateDict out;
  for (const auto& [k, v] : state) {
    if (is_key_under_prefixes(k, prefixes))
      out.emplace(k, v);
  }
  return out;
}

std::string remove_adapter_name_from_state_dict_key(
    const std::string& key, const std::string& adapter) {
  if (key.find('.') == std::string::npos)
    return key;
  const std::string tail = "." + adapter;
  if (key.ends_with(tail))
    return key.substr(0, key.size() - tail.size());
  const auto dot = key.rfind('.');
  std::string head = key.substr(0, dot);
  const std::string suffix = key.substr(dot + 1);
  if (head.ends_with(tail))
    head.resize(head.size() - tail.size());
  return head + "." + suffix;
}

}  // namespace peftcpp
