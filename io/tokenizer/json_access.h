// Checked access to tokenizer.json values with "[tokenizer] <component>: ..." errors
// (internal header; only the loader .cpp files include it, so nlohmann stays out of the API).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tensor/error.h"

namespace peftcpp::tok {

using Json = nlohmann::json;

/// Where a value sits: the component path ("pre_tokenizer.Split") and the file.
struct JsonCtx {
  std::string path;
  std::string source;

  JsonCtx at(const std::string& sub) const {
    return JsonCtx{path + sub, source};
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw ConfigError(detail::concat("[tokenizer] ", path, ": ", what, " in ", source));
  }
  const Json& require(const Json& obj, const char* key) const {
    if (!obj.is_object())
      fail("expected a JSON object");
    auto it = obj.find(key);
    if (it == obj.end())
      fail(detail::concat("missing key '", key, "'"));
    return *it;
  }
  /// The value of an optional key; nullptr when absent or null.
  const Json* optional(const Json& obj, const char* key) const {
    if (!obj.is_object())
      fail("expected a JSON object");
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null())
      return nullptr;
    return &*it;
  }
  std::string as_string(const Json& v, const char* key) const {
    if (!v.is_string())
      fail(detail::concat("key '", key, "' must be a string"));
    return v.get<std::string>();
  }
  bool as_bool(const Json& v, const char* key) const {
    if (!v.is_boolean())
      fail(detail::concat("key '", key, "' must be a boolean"));
    return v.get<bool>();
  }
  uint64_t as_uint(const Json& v, const char* key) const {
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
      fail(detail::concat("key '", key, "' must be a non-negative integer"));
    }
    return v.get<uint64_t>();
  }
  double as_number(const Json& v, const char* key) const {
    if (!v.is_number())
      fail(detail::concat("key '", key, "' must be a number"));
    return v.get<double>();
  }
  std::string get_string(const Json& obj, const char* key) const {
    return as_string(require(obj, key), key);
  }
  std::string get_string_or(const Json& obj, const char* key, const std::string& def) const {
    const Json* v = optional(obj, key);
    return v ? as_string(*v, key) : def;
  }
  std::optional<std::string> get_opt_string(const Json& obj, const char* key) const {
    const Json* v = optional(obj, key);
    if (!v)
      return std::nullopt;
    return as_string(*v, key);
  }
  bool get_bool_or(const Json& obj, const char* key, bool def) const {
    const Json* v = optional(obj, key);
    return v ? as_bool(*v, key) : def;
  }
  uint64_t get_uint_or(const Json& obj, const char* key, uint64_t def) const {
    const Json* v = optional(obj, key);
    return v ? as_uint(*v, key) : def;
  }
  /// A single Unicode character given as a one-character string.
  char32_t get_char(const Json& obj, const char* key) const;
  const Json& require_array(const Json& obj, const char* key) const {
    const Json& v = require(obj, key);
    if (!v.is_array())
      fail(detail::concat("key '", key, "' must be a list"));
    return v;
  }
};

}  // namespace peftcpp::tok
