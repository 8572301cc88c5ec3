// Private (not installed): the field-table machinery behind typed configs.
//
// Each typed config lists its fields once, in one function:
//   void LoraConfig::visit_fields(FieldVisitor& v) {
//     PeftConfig::visit_fields(v);
//     v("r", r, positive());
//     v("target_modules", target_modules);
//   }
// and the same list drives reading (Json -> members, wrong types become ConfigError naming the
// key), writing (members -> Json object) and per-field validation. The default of a field is the
// member initializer in the struct. Writing keeps the source document's spelling of a value whose
// meaning did not change (8.0 stays 8.0 in an int field, null stays null in a list field, a scalar
// layers_to_transform stays a scalar), so a loaded file saves back byte for byte.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "io/json/json.h"
#include "io/json/json_convert.h"
#include "tensor/error.h"

namespace peftcpp::json_detail {

/// Names used in error messages: "<tag> <source>: <owner>.<key>: <what>".
struct FieldContext {
  std::string tag;     ///< "[peft.config]", "[hf_config]"
  std::string owner;   ///< class name, e.g. "LoraConfig"
  std::string source;  ///< file the values came from; empty when built in code
};

/// HF configs: `Common` fields are PretrainedConfig attributes that transformers writes only when
/// they differ from the defaults; `Always` fields are always written.
enum class FieldKind : std::uint8_t { Always, Common };

class FieldVisitor {
 public:
  enum class Mode : std::uint8_t { Read, Write, Validate };

  /// `source`: Read mode: the object to read; Write mode: the document the config was loaded from
  /// (to keep its spelling of unchanged values), or nullptr.
  FieldVisitor(Mode mode, const JsonObject* source, FieldContext ctx)
      : mode_(mode), source_(source), ctx_(std::move(ctx)) {}

  Mode mode() const {
    return mode_;
  }
  const FieldContext& context() const {
    return ctx_;
  }

  template <class T>
  void operator()(std::string_view key, T& member) {
    field(key, member, FieldKind::Always, nullptr);
  }
  template <class T, class Check>
  void operator()(std::string_view key, T& member, Check&& check) {
    field(key, member, FieldKind::Always, std::forward<Check>(check));
  }
  template <class T>
  void common(std::string_view key, T& member) {
    field(key, member, FieldKind::Common, nullptr);
  }
  /// Read mode: a value stored under `alias` (transformers' attribute_map) is read into `member`.
  template <class T>
  void alias(std::string_view alias, T& member) {
    if (mode_ == Mode::Read && source_ != nullptr) {
      if (const Json* j = source_->find(alias)) {
        read(alias, *j, member);
        consumed_.emplace_back(alias);
      }
    }
  }

  /// Throws ConfigError "<tag> <source>: <owner>.<key>: <what>".
  [[noreturn]] void fail(std::string_view key, std::string_view what) const {
    throw ConfigError(message(key, what));
  }
  /// Prints "<tag> warning: <source>: <owner>.<key>: <what>" to stderr.
  void warn(std::string_view key, std::string_view what) const;
  std::string message(std::string_view key, std::string_view what) const;

  /// Write mode: the fields written so far, in visiting order.
  JsonObject& output() {
    return out_;
  }
  const std::vector<std::pair<std::string, FieldKind>>& kinds() const {
    return kinds_;
  }
  /// Read mode: whether `key` was read (as a field or an alias).
  bool consumed(std::string_view key) const {
    for (const auto& k : consumed_) {
      if (k == key) {
        return true;
      }
    }
    return false;
  }

 private:
  template <class T>
  void read(std::string_view key, const Json& j, T& member) {
    try {
      from_json(j, member);
    } catch (const Error& e) {
      std::string_view what = e.what();
      if (what.starts_with("[json] ")) {
        what.remove_prefix(7);
      }
      fail(key, what);
    }
  }

  template <class T, class Check>
  void field(std::string_view key, T& member, FieldKind kind, Check&& check) {
    switch (mode_) {
      case Mode::Read:
        if (source_ != nullptr) {
          if (const Json* j = source_->find(key)) {
            read(key, *j, member);
            consumed_.emplace_back(key);
          }
        }
        return;
      case Mode::Write: {
        Json value = to_json(member);
        if (source_ != nullptr) {
          if (const Json* j = source_->find(key)) {
            T original{};
            try {
              from_json(*j, original);
              if (to_json(original) == value) {
                value = *j;
              }
            } catch (const Error&) {
              // the source value was not valid for this field; write the current one
            }
          }
        }
        out_.set(key, std::move(value));
        kinds_.emplace_back(std::string(key), kind);
        return;
      }
      case Mode::Validate:
        if constexpr (!std::is_same_v<std::decay_t<Check>, std::nullptr_t>) {
          const std::string err = check(static_cast<const T&>(member));
          if (!err.empty()) {
            fail(key, err);
          }
        }
        return;
    }
  }

  Mode mode_;
  const JsonObject* source_;
  FieldContext ctx_;
  JsonObject out_;
  std::vector<std::pair<std::string, FieldKind>> kinds_;
  std::vector<std::string> consumed_;
};

// ------------------------------------------------------------------ per-field checks
// A check takes the member and returns "" when valid, else what is wrong. Checks on std::optional
// members pass when the optional is empty.

namespace check_detail {
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T, class F>
std::string apply(const T& v, F&& f) {
  if constexpr (is_optional<T>::value) {
    return v ? f(*v) : std::string();
  } else {
    return f(v);
  }
}

template <class T>
std::string show(const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    return "'" + v + "'";
  } else {
    return Json(v).dump();
  }
}
}  // namespace check_detail

inline auto positive() {
  return [](const auto& member) {
    return check_detail::apply(member, [](const auto& v) {
      return v > 0 ? std::string() : "must be > 0, got " + check_detail::show(v);
    });
  };
}

inline auto non_negative() {
  return [](const auto& member) {
    return check_detail::apply(member, [](const auto& v) {
      return v >= 0 ? std::string() : "must be >= 0, got " + check_detail::show(v);
    });
  };
}

/// lo <= v <= hi.
inline auto in_range(double lo, double hi) {
  return [lo, hi](const auto& member) {
    return check_detail::apply(member, [lo, hi](const auto& v) {
      if (v >= lo && v <= hi) {
        return std::string();
      }
      return "must be in [" + Json(lo).dump() + ", " + Json(hi).dump() + "], got " +
             check_detail::show(v);
    });
  };
}

/// lo <= v < hi.
inline auto in_half_open_range(double lo, double hi) {
  return [lo, hi](const auto& member) {
    return check_detail::apply(member, [lo, hi](const auto& v) {
      if (v >= lo && v < hi) {
        return std::string();
      }
      return "must be in [" + Json(lo).dump() + ", " + Json(hi).dump() + "), got " +
             check_detail::show(v);
    });
  };
}

inline auto one_of(std::vector<std::string> allowed) {
  return [allowed = std::move(allowed)](const auto& member) {
    return check_detail::apply(member, [&allowed](const std::string& v) {
      std::string list;
      for (const auto& a : allowed) {
        if (a == v) {
          return std::string();
        }
        list += (list.empty() ? "'" : ", '") + a + "'";
      }
      return "must be one of " + list + ", got '" + v + "'";
    });
  };
}

}  // namespace peftcpp::json_detail
