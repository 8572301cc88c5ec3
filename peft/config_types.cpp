// Json conversions of ModuleNames, InitWeights, PeftType and TaskType.
#include "peft/config_types.h"

#include <algorithm>

#include "io/json/json_convert.h"
#include "tensor/error.h"

namespace peftcpp {

void ModuleNames::deduplicate() {
  std::vector<std::string> unique;
  for (auto& n : names_) {
    if (std::find(unique.begin(), unique.end(), n) == unique.end()) {
      unique.push_back(std::move(n));
    }
  }
  names_ = std::move(unique);
}

void from_json(const Json& j, ModuleNames& out) {
  if (j.is_null()) {
    out = ModuleNames();
  } else if (j.is_string()) {
    out = ModuleNames(j.as_string());
  } else if (j.is_array()) {
    std::vector<std::string> names;
    for (const Json& e : j.as_array()) {
      PEFTCPP_CHECK(
          e.is_string(),
          "[json] expected a list of strings or a string, got a list with ",
          e.type_name(),
          " ",
          e.dump());
      names.push_back(e.as_string());
    }
    out = ModuleNames(std::move(names));
  } else {
    throw ValueError(
        detail::concat("[json] expected a list of strings, a string or null, got ", j.type_name()));
  }
}

Json to_json(const ModuleNames& v) {
  if (v.is_none()) {
    return Json();
  }
  if (v.is_string()) {
    return Json(v.pattern());
  }
  return to_json(v.names());
}

void from_json(const Json& j, LayerIndices& out) {
  if (j.is_null()) {
    out = LayerIndices();
  } else if (j.is_array()) {
    std::vector<int> layers;
    from_json(j, layers);
    out = LayerIndices(std::move(layers));
  } else if (j.is_number()) {
    int layer = 0;
    from_json(j, layer);
    out = LayerIndices(layer);
  } else {
    throw ValueError(
        detail::concat("[json] expected an int, a list of ints or null, got ", j.type_name()));
  }
}

Json to_json(const LayerIndices& v) {
  if (v.is_none()) {
    return Json();
  }
  if (v.is_scalar()) {
    return Json(v.indices().front());
  }
  return to_json(v.indices());
}

void from_json(const Json& j, InitWeights& out) {
  if (j.is_bool()) {
    out = InitWeights(j.as_bool());
  } else if (j.is_string()) {
    out = InitWeights(j.as_string());
  } else {
    throw ValueError(detail::concat("[json] expected a bool or a string, got ", j.type_name()));
  }
}

Json to_json(const InitWeights& v) {
  return v.is_bool() ? Json(v.as_bool()) : Json(v.name());
}

void from_json(const Json& j, PeftType& out) {
  const std::string& name = j.as_string();
  const auto t = peft_type_from_name(name);
  if (!t) {
    std::string known;
    for (PeftType k : all_peft_types()) {
      known += (known.empty() ? "" : ", ") + std::string(peft_type_name(k));
    }
    throw ValueError(detail::concat("[json] unknown peft_type '", name, "'; known: ", known));
  }
  out = *t;
}

Json to_json(PeftType v) {
  return Json(peft_type_name(v));
}

void from_json(const Json& j, TaskType& out) {
  const std::string& name = j.as_string();
  const auto t = task_type_from_name(name);
  if (!t) {
    std::string known;
    for (std::size_t i = 0; i < kNumTaskTypes; ++i) {
      known += (i ? ", " : "") + std::string(task_type_name(static_cast<TaskType>(i)));
    }
    throw ValueError(
        detail::concat("[json] invalid task type '", name, "'; must be one of ", known));
  }
  out = *t;
}

Json to_json(TaskType v) {
  return Json(task_type_name(v));
}

}  // namespace peftcpp
