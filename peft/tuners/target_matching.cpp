// Target matching (port of check_target_module_exists and _maybe_include_all_linear_layers in
// peft/tuners/tuners_utils.py, get_pattern_key in peft/utils/other.py @5d602fd).
#include "peft/tuners/target_matching.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "models/model.h"
#include "nn/layers/linear.h"
#include "peft/tuners/base_tuner_layer.h"
#include "peft/utils/regex.h"
#include "tensor/error.h"

namespace peftcpp {
namespace {

bool ends_with_component(const std::string& key, const std::string& suffix) {
  return key.size() > suffix.size() && key.ends_with(suffix) &&
         key[key.size() - suffix.size() - 1] == '.';
}

bool in_list_or_suffix(const std::vector<std::string>& names, const std::string& key) {
  for (const std::string& n : names) {
    if (key == n || ends_with_component(key, n))
      return true;
  }
  return false;
}

// layers_to_transform filtering of rule 5.
bool layer_index_allowed(const TargetFields& f, const std::string& key) {
  if (f.layers_to_transform == nullptr || f.layers_to_transform->is_none())
    return true;
  if (!f.layers_to_transform->is_scalar() && f.layers_to_transform->indices().empty())
    return true;
  std::optional<std::vector<std::string>> m;
  const bool no_pattern = f.layers_pattern == nullptr || f.layers_pattern->is_none() ||
                          (f.layers_pattern->is_string() && f.layers_pattern->pattern().empty()) ||
                          (f.layers_pattern->is_list() && f.layers_pattern->names().empty());
  if (no_pattern) {
    // lazy .*? picks the first numbered component (not an expert index further down)
    m = pyre::match(R"(.*?\.[^.]*\.(\d+)\.)", key);
  } else {
    std::vector<std::string> patterns = f.layers_pattern->is_string()
                                            ? std::vector<std::string>{f.layers_pattern->pattern()}
                                            : f.layers_pattern->names();
    for (const std::string& p : patterns) {
      m = pyre::match(".*?\\." + p + "\\.(\\d+)\\.", key, "layers_pattern");
      if (m)
        break;
    }
  }
  if (!m)
    return false;
  const int index = std::stoi((*m)[1]);
  const std::vector<int>& allowed = f.layers_to_transform->indices();
  return std::find(allowed.begin(), allowed.end(), index) != allowed.end();
}

}  // namespace

bool matches_module_list_regex(const std::vector<std::string>& names, const std::string& key) {
  for (const std::string& m : names) {
    if (pyre::match("(^|.*\\.)" + m + "($|\\..*)", key, "modules_to_save"))
      return true;
  }
  return false;
}

TargetMatch check_target_module_exists(const TargetFields& f, const std::string& key) {
  if (f.exclude_modules != nullptr) {
    const ModuleNames& ex = *f.exclude_modules;
    if (ex.is_string() && !ex.pattern().empty()) {
      if (pyre::fullmatch(ex.pattern(), key, "exclude_modules"))
        return TargetMatch::Excluded;
    } else if (ex.is_list() && in_list_or_suffix(ex.names(), key)) {
      return TargetMatch::Excluded;
    }
  }
  if (f.modules_to_save != nullptr && f.modules_to_save->has_value() &&
      !(*f.modules_to_save)->empty() && matches_module_list_regex(**f.modules_to_save, key)) {
    return TargetMatch::Excluded;
  }
  const ModuleNames none;
  const ModuleNames& targets = f.target_modules != nullptr ? *f.target_modules : none;
  if (targets.is_none() && f.target_parameters != nullptr && f.target_parameters->has_value()) {
    return TargetMatch::NoMatch;
  }
  if (targets.is_string()) {
    return pyre::fullmatch(targets.pattern(), key, "target_modules") ? TargetMatch::Match
                                                                     : TargetMatch::NoMatch;
  }
  const std::vector<std::string>& names = targets.names();
  if (std::find(names.begin(), names.end(), key) != names.end())
    return TargetMatch::Match;
  bool found = false;
  for (const std::string& t : names) found = found || ends_with_component(key, t);
  if (found && !layer_index_allowed(f, key))
    found = false;
  return found ? TargetMatch::Match : TargetMatch::NoMatch;
}

void expand_all_linear(TargetFields& f, nn::Module& model, bool seq_cls_task) {
  if (f.target_modules == nullptr || !f.target_modules->is_string())
    return;
  std::string lower = f.target_modules->pattern();
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower != "all-linear")
    return;

  const nn::NamedModules named = model.named_modules();
  std::set<std::string> linear;
  for (const auto& [name, m] : named) {
    if (dynamic_cast<nn::Linear*>(m.get()) != nullptr ||
        dynamic_cast<nn::Conv1D*>(m.get()) != nullptr) {
      linear.insert(name);
    } else if (
        dynamic_cast<BaseTunerLayer*>(m.get()) != nullptr &&
        m->type_name().find("Linear") != std::string::npos) {
      linear.insert(name);
    }
  }
  std::set<std::string> exclude;
  if (auto* pm = dynamic_cast<models::PreTrainedModel*>(&model)) {
    nn::ModulePtr out = pm->output_embeddings();
    if (out != nullptr) {
      for (const auto& [name, m] : named) {
        if (m == out) {
          exclude.insert(name);
          break;
        }
      }
    } else if (seq_cls_task) {
      for (const char* head : {"score", "classifier"}) {
        if (nn::ModulePtr h = model.find_child(head)) {
          for (const auto& [name, m] : named) {
            if (m == h)
              exclude.insert(name);
          }
          break;
        }
      }
    }
  }
  for (const auto& [prefix, m] : named) {
    if (dynamic_cast<BaseTunerLayer*>(m.get()) == nullptr)
      continue;
    for (const auto& [suffix, child] : m->named_modules()) {
      if (!suffix.empty())
        exclude.insert(prefix + "." + suffix);
    }
  }
  std::vector<std::string> out;
  for (const std::string& n : linear) {
    if (!exclude.count(n))
      out.push_back(n);
  }
  *f.target_modules = ModuleNames(out);
}

std::vector<std::string> find_minimal_target_modules(
    const std::vector<std::string>& targets, const std::vector<std::string>& others) {
  PEFTCPP_CHECK(!targets.empty(), "[peft] target_modules should be a non-empty list of names");
  // "a.b.c" -> {"c", "b.c", "a.b.c"} (shortest first)
  auto suffixes = [](const std::string& s) {
    std::vector<std::string> out;
    for (std::size_t pos = s.size(); pos != std::string::npos && pos > 0;) {
      const std::size_t dot = s.rfind('.', pos - 1);
      out.push_back(dot == std::string::npos ? s : s.substr(dot + 1));
      pos = dot;
    }
    return out;
  };
  std::set<std::string> other_suffixes;
  for (const std::string& o : others) {
    for (const std::string& sfx : suffixes(o)) other_suffixes.insert(sfx);
  }
  std::set<std::string> unique(targets.begin(), targets.end());
  PEFTCPP_CHECK(!unique.count(""), "[peft] target_modules should not contain an empty string");
  std::vector<std::pair<std::vector<std::string>, std::string>> items;
  for (const std::string& t : unique) items.emplace_back(suffixes(t), t);
  std::sort(items.begin(), items.end());
  std::set<std::string> required;
  for (const auto& [sfxs, item] : items) {
    for (const std::string& sfx : sfxs) {
      if (required.count(sfx) || other_suffixes.count(sfx))
        continue;
      bool covered = false;
      for (const std::string& r : required) covered = covered || item.ends_with("." + r);
      if (!covered) {
        required.insert(sfx);
        break;
      }
    }
  }
  if (required.empty())
    return {unique.begin(), unique.end()};
  return {required.begin(), required.end()};
}

std::string get_pattern_key(const std::vector<std::string>& pattern_keys, const std::string& name) {
  for (const std::string& k : pattern_keys) {
    if (pyre::match("(.*\\.)?(" + k + ")$", name, "rank_pattern/alpha_pattern"))
      return k;
  }
  return name;
}

}  // namespace peftcpp
