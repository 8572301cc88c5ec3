// Json value, JsonObject and equality. The parser is in parse.cpp, the writer in dump.cpp.
#include "io/json/json.h"

#include <cmath>
#include <cstring>

#include "tensor/error.h"

namespace peftcpp {

// ---------------------------------------------------------------- JsonObject

JsonObject::JsonObject(std::initializer_list<std::pair<std::string, Json>> items) {
  for (const auto& [k, v] : items) {
    set(k, v);
  }
}

const Json* JsonObject::find(std::string_view key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &values_[it->second];
}

Json* JsonObject::find(std::string_view key) {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &values_[it->second];
}

const Json& JsonObject::at(std::string_view key) const {
  const Json* v = find(key);
  PEFTCPP_CHECK(v != nullptr, "[json] object has no key '", key, "'");
  return *v;
}

Json& JsonObject::at(std::string_view key) {
  Json* v = find(key);
  PEFTCPP_CHECK(v != nullptr, "[json] object has no key '", key, "'");
  return *v;
}

Json& JsonObject::operator[](std::string_view key) {
  if (Json* v = find(key)) {
    return *v;
  }
  set(key, Json());
  return values_.back();
}

void JsonObject::set(std::string_view key, Json value) {
  if (Json* v = find(key)) {
    *v = std::move(value);
    return;
  }
  index_.emplace(std::string(key), keys_.size());
  keys_.emplace_back(key);
  values_.push_back(std::move(value));
}

bool JsonObject::erase(std::string_view key) {
  auto it = index_.find(key);
  if (it == index_.end()) {
    return false;
  }
  const std::size_t pos = it->second;
  index_.erase(it);
  keys_.erase(keys_.begin() + static_cast<std::ptrdiff_t>(pos));
  values_.erase(values_.begin() + static_cast<std::ptrdiff_t>(pos));
  for (auto& [k, i] : index_) {
    if (i > pos) {
      --i;
    }
  }
  return true;
}

void JsonObject::clear() {
  keys_.clear();
  values_.clear();
  index_.clear();
}

const Json& JsonObject::value_at(std::size_t i) const {
  return values_.at(i);
}

Json& JsonObject::value_at(std::size_t i) {
  return values_.at(i);
}

bool operator==(const JsonObject& a, const JsonObject& b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    const Json* other = b.find(a.key_at(i));
    if (other == nullptr || !(*other == a.value_at(i))) {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------- Json

Json Json::array(std::initializer_list<Json> items) {
  return Json(JsonArray(items));
}

Json Json::object(std::initializer_list<std::pair<std::string, Json>> items) {
  return Json(JsonObject(items));
}

void Json::throw_int_overflow() {
  throw ValueError("[json] unsigned integer does not fit in int64");
}

const char* Json::type_name() const {
  static constexpr const char* kNames[] = {
      "null", "bool", "int", "float", "string", "array", "object"};
  return kNames[v_.index()];
}

namespace {
[[noreturn]] void type_mismatch(const char* want, const Json& j) {
  throw ValueError(detail::concat("[json] expected ", want, ", got ", j.type_name()));
}
}  // namespace

bool Json::as_bool() const {
  if (!is_bool()) {
    type_mismatch("bool", *this);
  }
  return std::get<bool>(v_);
}

std::int64_t Json::as_int() const {
  if (!is_int()) {
    type_mismatch("int", *this);
  }
  return std::get<std::int64_t>(v_);
}

double Json::as_double() const {
  if (is_int()) {
    return static_cast<double>(std::get<std::int64_t>(v_));
  }
  if (!is_float()) {
    type_mismatch("number", *this);
  }
  return std::get<double>(v_);
}

const std::string& Json::as_string() const {
  if (!is_string()) {
    type_mismatch("string", *this);
  }
  return std::get<std::string>(v_);
}

const JsonArray& Json::as_array() const {
  if (!is_array()) {
    type_mismatch("array", *this);
  }
  return std::get<JsonArray>(v_);
}

JsonArray& Json::as_array() {
  if (!is_array()) {
    type_mismatch("array", *this);
  }
  return std::get<JsonArray>(v_);
}

const JsonObject& Json::as_object() const {
  if (!is_object()) {
    type_mismatch("object", *this);
  }
  return std::get<JsonObject>(v_);
}

JsonObject& Json::as_object() {
  if (!is_object()) {
    type_mismatch("object", *this);
  }
  return std::get<JsonObject>(v_);
}

const Json* Json::find(std::string_view key) const {
  return is_object() ? as_object().find(key) : nullptr;
}

Json& Json::operator[](std::string_view key) {
  if (is_null()) {
    v_ = JsonObject();
  }
  return as_object()[key];
}

const Json& Json::element(std::size_t i, bool negative) const {
  const JsonArray& a = as_array();
  PEFTCPP_CHECK_T(
      IndexError,
      !negative && i < a.size(),
      "[json] index ",
      negative ? -static_cast<std::int64_t>(-i) : static_cast<std::int64_t>(i),
      " out of range for array of ",
      a.size());
  return a[i];
}

std::size_t Json::size() const {
  if (is_array()) {
    return as_array().size();
  }
  if (is_object()) {
    return as_object().size();
  }
  return 0;
}

bool operator==(const Json& a, const Json& b) {
  if (a.type() != b.type()) {
    return false;
  }
  switch (a.type()) {
    case Json::Type::Null:
      return true;
    case Json::Type::Bool:
      return a.as_bool() == b.as_bool();
    case Json::Type::Int:
      return a.as_int() == b.as_int();
    case Json::Type::Float: {
      // NaN == NaN here so that a parsed document equals itself; -0.0 and 0.0 differ (they dump
      // differently).
      const double x = a.as_double();
      const double y = b.as_double();
      if (std::isnan(x) || std::isnan(y)) {
        return std::isnan(x) && std::isnan(y);
      }
      return x == y && std::signbit(x) == std::signbit(y);
    }
    case Json::Type::String:
      return a.as_string() == b.as_string();
    case Json::Type::Array:
      return a.as_array() == b.as_array();
    case Json::Type::Object:
      return a.as_object() == b.as_object();
  }
  return false;
}

bool json_equal_numeric(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) {
      return a.as_int() == b.as_int();
    }
    return a.as_double() == b.as_double();
  }
  if (a.type() != b.type()) {
    return false;
  }
  if (a.is_array()) {
    const JsonArray& x = a.as_array();
    const JsonArray& y = b.as_array();
    if (x.size() != y.size()) {
      return false;
    }
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!json_equal_numeric(x[i], y[i])) {
        return false;
      }
    }
    return true;
  }
  if (a.is_object()) {
    const JsonObject& x = a.as_object();
    const JsonObject& y = b.as_object();
    if (x.size() != y.size()) {
      return false;
    }
    for (const auto& [k, v] : x) {
      const Json* w = y.find(k);
      if (w == nullptr || !json_equal_numeric(v, *w)) {
        return false;
      }
    }
    return true;
  }
  return a == b;
}

}  // namespace peftcpp
