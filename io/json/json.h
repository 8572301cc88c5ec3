// JSON value type used in peftcpp's public API (configs, safetensors metadata, tokenizer files).
//
// A `Json` is null, bool, int64, double, string, array or object. Integers and floats stay distinct
// (`8` vs `8.0`), and objects keep their keys in insertion order, so parse -> dump round-trips.
// Parsing follows Python's `json.loads` (NaN/Infinity accepted, lone surrogates kept); dumping
// follows Python's `json.dumps` byte for byte (float repr, ensure_ascii escapes, indent and
// sort_keys). No third-party header appears here; the parser lives in json.cpp and dump.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace peftcpp {

class Json;
using JsonArray = std::vector<Json>;

/// Insertion-ordered string -> Json map (Python dict semantics: re-setting a key keeps its
/// position).
class JsonObject {
 public:
  struct Entry {
    const std::string& key;
    Json& value;
  };
  struct ConstEntry {
    const std::string& key;
    const Json& value;
  };
  template <class Obj, class E>
  class Iter {
   public:
    Iter(Obj* obj, std::size_t i) : obj_(obj), i_(i) {}
    E operator*() const;
    Iter& operator++() {
      ++i_;
      return *this;
    }
    bool operator==(const Iter& o) const {
      return i_ == o.i_;
    }

   private:
    Obj* obj_;
    std::size_t i_;
  };
  using iterator = Iter<JsonObject, Entry>;
  using const_iterator = Iter<const JsonObject, ConstEntry>;

  JsonObject() = default;
  JsonObject(std::initializer_list<std::pair<std::string, Json>> items);

  std::size_t size() const {
    return keys_.size();
  }
  bool empty() const {
    return keys_.empty();
  }
  bool contains(std::string_view key) const {
    return find(key) != nullptr;
  }
  /// Pointer to the value of `key`, or nullptr.
  const Json* find(std::string_view key) const;
  Json* find(std::string_view key);
  /// Value of `key`; throws ValueError naming the key when absent.
  const Json& at(std::string_view key) const;
  Json& at(std::string_view key);
  /// Value of `key`, inserting null at the end when absent.
  Json& operator[](std::string_view key);
  /// Inserts or replaces (a replaced key keeps its position).
  void set(std::string_view key, Json value);
  /// Removes `key`; returns whether it was present. Later keys keep their order.
  bool erase(std::string_view key);
  void clear();

  const std::string& key_at(std::size_t i) const {
    return keys_[i];
  }
  const Json& value_at(std::size_t i) const;
  Json& value_at(std::size_t i);
  const std::vector<std::string>& keys() const {
    return keys_;
  }
  /// Marks the keys as stringified ints (a Python dict with int keys, e.g. transformers'
  /// id2label): dump() with sort_keys then sorts them by value ("2" before "10"), as Python does.
  void set_int_keys(bool int_keys) {
    int_keys_ = int_keys;
  }
  bool int_keys() const {
    return int_keys_;
  }

  iterator begin() {
    return {this, 0};
  }
  iterator end() {
    return {this, keys_.size()};
  }
  const_iterator begin() const {
    return {this, 0};
  }
  const_iterator end() const {
    return {this, keys_.size()};
  }

  /// Same keys with equal values, order ignored (as Python's dict ==).
  friend bool operator==(const JsonObject& a, const JsonObject& b);

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::vector<std::string> keys_;
  std::vector<Json> values_;
  std::unordered_map<std::string, std::size_t, Hash, std::equal_to<>> index_;
  bool int_keys_ = false;
};

/// How `Json::dump` formats (defaults = Python's `json.dumps(obj, indent=2, sort_keys=True)`).
struct JsonDumpOptions {
  /// Spaces per level; negative = one line with Python's default separators ", " and ": ".
  int indent = 2;
  bool sort_keys = true;
  /// Escape every non-ASCII character as \uXXXX (surrogate pairs above U+FFFF), as Python does.
  bool ensure_ascii = true;
  /// Append "\n" (transformers' `to_json_string`); PEFT's adapter_config.json has none.
  bool trailing_newline = false;
};

class Json {
 public:
  enum class Type : std::uint8_t { Null, Bool, Int, Float, String, Array, Object };

  Json() noexcept = default;
  Json(std::nullptr_t) noexcept {}
  Json(bool b) : v_(b) {}
  template <class T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) Json(T i) : v_(checked_int(i)) {}
  Json(double d) : v_(d) {}
  Json(float f) : v_(static_cast<double>(f)) {}
  Json(const char* s) : v_(std::string(s)) {}
  Json(std::string s) : v_(std::move(s)) {}
  Json(std::string_view s) : v_(std::string(s)) {}
  Json(JsonArray a) : v_(std::move(a)) {}
  Json(JsonObject o) : v_(std::move(o)) {}

  /// Array from a list: `Json::array({1, "a", nullptr})`.
  static Json array(std::initializer_list<Json> items = {});
  /// Object from key/value pairs, in order: `Json::object({{"r", 8}, {"bias", "none"}})`.
  static Json object(std::initializer_list<std::pair<std::string, Json>> items = {});

  /// Parses one JSON document; `source` names it in errors ("<source>:<line>:<col>: ...").
  /// Throws IoError on malformed input.
  static Json parse(std::string_view text, std::string_view source = "<string>");
  /// Reads and parses a file; errors name the path, line and column.
  static Json parse_file(const std::filesystem::path& path);

  Type type() const {
    return static_cast<Type>(v_.index());
  }
  /// "null", "bool", "int", "float", "string", "array" or "object".
  const char* type_name() const;
  bool is_null() const {
    return type() == Type::Null;
  }
  bool is_bool() const {
    return type() == Type::Bool;
  }
  bool is_int() const {
    return type() == Type::Int;
  }
  bool is_float() const {
    return type() == Type::Float;
  }
  bool is_number() const {
    return is_int() || is_float();
  }
  bool is_string() const {
    return type() == Type::String;
  }
  bool is_array() const {
    return type() == Type::Array;
  }
  bool is_object() const {
    return type() == Type::Object;
  }

  // Typed access; each throws ValueError "[json] expected <type>, got <type>" on a mismatch.
  bool as_bool() const;
  std::int64_t as_int() const;
  /// An int or a float, as double.
  double as_double() const;
  const std::string& as_string() const;
  const JsonArray& as_array() const;
  JsonArray& as_array();
  const JsonObject& as_object() const;
  JsonObject& as_object();

  /// Object member (throws when not an object or the key is absent).
  const Json& at(std::string_view key) const {
    return as_object().at(key);
  }
  /// Object member or nullptr (also nullptr when this is not an object).
  const Json* find(std::string_view key) const;
  /// Object member, inserting null; a null value first becomes an empty object.
  Json& operator[](std::string_view key);
  /// Array element (throws IndexError when out of range).
  template <class I>
  requires std::is_integral_v<I>
  const Json& operator[](I i) const {
    return element(static_cast<std::size_t>(i), i < 0);
  }
  template <class I>
  requires std::is_integral_v<I> Json& operator[](I i) {
    return const_cast<Json&>(element(static_cast<std::size_t>(i), i < 0));
  }
  /// Number of elements of an array or object; 0 otherwise.
  std::size_t size() const;

  /// Python `json.dumps` text of this value.
  std::string dump(const JsonDumpOptions& options = {}) const;

  /// Structural equality: types must match exactly (1 != 1.0), object key order is ignored.
  friend bool operator==(const Json& a, const Json& b);

 private:
  template <class T>
  static std::int64_t checked_int(T i) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
      if (i > static_cast<T>(INT64_MAX)) {
        throw_int_overflow();
      }
    }
    return static_cast<std::int64_t>(i);
  }
  [[noreturn]] static void throw_int_overflow();
  const Json& element(std::size_t i, bool negative) const;

  std::variant<std::monostate, bool, std::int64_t, double, std::string, JsonArray, JsonObject> v_;
};

/// Python equality of JSON values: like ==, but numbers compare by value (8 == 8.0).
bool json_equal_numeric(const Json& a, const Json& b);

/// transformers' `to_json_string`: `json.dumps(value, indent=2, sort_keys=True) + "\n"`.
std::string to_json_string(const Json& value);

/// Writes `value.dump(options)` to `path` atomically (temp file in the same folder, fsync, rename).
/// Throws IoError naming the path.
void write_json_file(
    const std::filesystem::path& path, const Json& value, const JsonDumpOptions& options = {});

template <class Obj, class E>
E JsonObject::Iter<Obj, E>::operator*() const {
  return E{obj_->key_at(i_), obj_->value_at(i_)};
}

}  // namespace peftcpp
