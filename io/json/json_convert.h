// Conversions between Json and C++ values, used by typed configs and `GenericPeftConfig::get<T>`.
//
// `from_json(j, out)` throws ValueError "expected <type>, got <type>" (callers add the key and
// file); `to_json(v)` never throws. Supported: bool, int, int64_t, double, std::string, Json,
// std::optional<T> (null <-> nullopt), std::vector<T> (array), and ordered string maps
// std::vector<std::pair<std::string, T>> (object). Overloads for other types live next to them.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/json/json.h"
#include "tensor/error.h"

namespace peftcpp {

void from_json(const Json& j, bool& out);
/// Accepts an int, or a float with an integral value (Python would accept 8.0 where 8 is meant).
void from_json(const Json& j, std::int64_t& out);
void from_json(const Json& j, int& out);
/// Accepts an int or a float.
void from_json(const Json& j, double& out);
void from_json(const Json& j, std::string& out);
inline void from_json(const Json& j, Json& out) {
  out = j;
}
inline Json to_json(bool v) {
  return Json(v);
}
inline Json to_json(std::int64_t v) {
  return Json(v);
}
inline Json to_json(int v) {
  return Json(v);
}
inline Json to_json(double v) {
  return Json(v);
}
inline Json to_json(const std::string& v) {
  return Json(v);
}
inline Json to_json(const Json& v) {
  return v;
}

/// A dict with int keys (transformers' id2label): an object whose keys are decimal integers.
void from_json(const Json& j, std::vector<std::pair<std::int64_t, std::string>>& out);
/// Marks the object's keys as ints so that sort_keys orders them numerically, as Python does.
Json to_json(const std::vector<std::pair<std::int64_t, std::string>>& v);

// Templates are declared before any is defined: they call each other for std:: types, which
// argument-dependent lookup would not find in namespace peftcpp.
template <class T>
void from_json(const Json& j, std::optional<T>& out);
template <class T>
void from_json(const Json& j, std::vector<T>& out);
template <class T>
void from_json(const Json& j, std::vector<std::pair<std::string, T>>& out);
template <class A, class B>
void from_json(const Json& j, std::pair<A, B>& out);
template <class T>
Json to_json(const std::optional<T>& v);
template <class T>
Json to_json(const std::vector<T>& v);
template <class T>
Json to_json(const std::vector<std::pair<std::string, T>>& v);
template <class A, class B>
Json to_json(const std::pair<A, B>& v);

template <class T>
void from_json(const Json& j, std::optional<T>& out) {
  if (j.is_null()) {
    out.reset();
    return;
  }
  T v{};
  from_json(j, v);
  out = std::move(v);
}

template <class T>
void from_json(const Json& j, std::vector<T>& out) {
  const JsonArray& a = j.as_array();
  std::vector<T> result;
  result.reserve(a.size());
  for (const Json& e : a) {
    T v{};
    from_json(e, v);
    result.push_back(std::move(v));
  }
  out = std::move(result);
}

template <class T>
void from_json(const Json& j, std::vector<std::pair<std::string, T>>& out) {
  const JsonObject& o = j.as_object();
  std::vector<std::pair<std::string, T>> result;
  result.reserve(o.size());
  for (const auto& [k, e] : o) {
    T v{};
    from_json(e, v);
    result.emplace_back(k, std::move(v));
  }
  out = std::move(result);
}

/// A 2-element array, e.g. one (start, end) range of LoRA's layer_replication.
template <class A, class B>
void from_json(const Json& j, std::pair<A, B>& out) {
  const JsonArray& a = j.as_array();
  if (a.size() != 2) {
    throw ValueError("[json] expected a list of 2 elements, got " + std::to_string(a.size()));
  }
  from_json(a[0], out.first);
  from_json(a[1], out.second);
}

template <class A, class B>
Json to_json(const std::pair<A, B>& v) {
  return Json(JsonArray{to_json(v.first), to_json(v.second)});
}

template <class T>
Json to_json(const std::optional<T>& v) {
  return v ? to_json(*v) : Json();
}

template <class T>
Json to_json(const std::vector<T>& v) {
  JsonArray a;
  a.reserve(v.size());
  for (const T& e : v) {
    a.push_back(to_json(e));
  }
  return Json(std::move(a));
}

template <class T>
Json to_json(const std::vector<std::pair<std::string, T>>& v) {
  JsonObject o;
  for (const auto& [k, e] : v) {
    o.set(k, to_json(e));
  }
  return Json(std::move(o));
}

}  // namespace peftcpp
