// JSON writer reproducing Python's `json.dumps` byte for byte.
//
// Floats use Python's repr: the shortest digits that round-trip, fixed notation when the decimal
// exponent is in [-4, 16), else "d.ddde+XX" with at least two exponent digits; integral floats get
// ".0"; non-finite values are written NaN / Infinity / -Infinity. With ensure_ascii every character
// outside 0x20..0x7E is escaped (\n \r \t \b \f by name, others \u00XX, astral code points as a
// lowercase surrogate pair). indent >= 0 uses "," + newline and ": "; indent < 0 uses ", " and ":
// ".
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "io/atomic_file.h"
#include "io/json/json.h"
#include "tensor/error.h"

namespace peftcpp {
namespace {

void append_hex4(std::string& out, std::uint32_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\u%04x", v);
  out += buf;
}

// Decodes one UTF-8 (or WTF-8) character at s[i]; advances i. Bytes that do not form a sequence are
// returned as themselves (the parser never produces them; strings built in C++ might).
std::uint32_t decode_utf8(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len = b0 < 0x80 ? 1 : b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 1;
  if (i + len > s.size()) {
    len = 1;
  }
  if (len == 1) {
    ++i;
    return b0;
  }
  std::uint32_t cp = b0 & (0x7F >> len);
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return b0;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  i += len;
  return cp;
}

void dump_string(std::string& out, std::string_view s, bool ensure_ascii) {
  out += '"';
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        ++i;
        continue;
      case '\\':
        out += "\\\\";
        ++i;
        continue;
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      case '\b':
        out += "\\b";
        ++i;
        continue;
      case '\f':
        out += "\\f";
        ++i;
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      append_hex4(out, c);
      ++i;
    } else if (c < 0x7F || (c == 0x7F && !ensure_ascii)) {
      out += static_cast<char>(c);
      ++i;
    } else if (!ensure_ascii) {
      out += static_cast<char>(c);
      ++i;
    } else {
      const std::uint32_t cp = decode_utf8(s, i);
      if (cp >= 0x10000) {
        const std::uint32_t v = cp - 0x10000;
        append_hex4(out, 0xD800 | (v >> 10));
        append_hex4(out, 0xDC00 | (v & 0x3FF));
      } else {
        append_hex4(out, cp);
      }
    }
  }
  out += '"';
}

void dump_float(std::string& out, double d) {
  if (std::isnan(d)) {
    out += "NaN";
    return;
  }
  if (std::isinf(d)) {
    out += d < 0 ? "-Infinity" : "Infinity";
    return;
  }
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));
  // sci = [-]d[.ddd]e(+|-)XX
  if (!sci.empty() && sci.front() == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  const std::size_t epos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, epos)) {
    if (c != '.') {
      digits += c;
    }
  }
  int exp10 = 0;
  const std::string_view es = sci.substr(epos + 1);
  std::from_chars(es.data() + (es.front() == '+' ? 1 : 0), es.data() + es.size(), exp10);
  const int decpt = exp10 + 1;  // value = 0.digits * 10^decpt
  const int n = static_cast<int>(digits.size());
  if (decpt <= -4 || decpt > 16) {
    out += digits[0];
    if (n > 1) {
      out += '.';
      out.append(digits, 1);
    }
    char ebuf[16];
    std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
    out += ebuf;
  } else if (decpt <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-decpt), '0');
    out += digits;
  } else if (decpt >= n) {
    out += digits;
    out.append(static_cast<std::size_t>(decpt - n), '0');
    out += ".0";
  } else {
    out.append(digits, 0, static_cast<std::size_t>(decpt));
    out += '.';
    out.append(digits, static_cast<std::size_t>(decpt));
  }
}

class Writer {
 public:
  explicit Writer(const JsonDumpOptions& o) : o_(o) {}

  void value(const Json& v, int level) {
    switch (v.type()) {
      case Json::Type::Null:
        out += "null";
        return;
      case Json::Type::Bool:
        out += v.as_bool() ? "true" : "false";
        return;
      case Json::Type::Int:
        out += std::to_string(v.as_int());
        return;
      case Json::Type::Float:
        dump_float(out, v.as_double());
        return;
      case Json::Type::String:
        dump_string(out, v.as_string(), o_.ensure_ascii);
        return;
      case Json::Type::Array:
        array(v.as_array(), level);
        return;
      case Json::Type::Object:
        object(v.as_object(), level);
        return;
    }
  }

  std::string out;

 private:
  void newline(int level) {
    out += '\n';
    out.append(static_cast<std::size_t>(level * o_.indent), ' ');
  }

  void separator(bool first, int level) {
    if (o_.indent >= 0) {
      if (!first) {
        out += ',';
      }
      newline(level);
    } else if (!first) {
      out += ", ";
    }
  }

  void array(const JsonArray& a, int level) {
    if (a.empty()) {
      out += "[]";
      return;
    }
    out += '[';
    for (std::size_t i = 0; i < a.size(); ++i) {
      separator(i == 0, level + 1);
      value(a[i], level + 1);
    }
    if (o_.indent >= 0) {
      newline(level);
    }
    out += ']';
  }

  void object(const JsonObject& obj, int level) {
    if (obj.empty()) {
      out += "{}";
      return;
    }
    std::vector<std::size_t> order(obj.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
      order[i] = i;
    }
    if (o_.sort_keys) {
      // Byte order of UTF-8 equals code point order, which is how Python sorts str keys.
      std::vector<std::int64_t> ints;
      if (obj.int_keys()) {
        for (std::size_t i = 0; i < obj.size() && ints.size() == i; ++i) {
          std::int64_t v = 0;
          const std::string& k = obj.key_at(i);
          auto [p, ec] = std::from_chars(k.data(), k.data() + k.size(), v);
          if (ec == std::errc() && p == k.data() + k.size()) {
            ints.push_back(v);
          }
        }
      }
      if (!ints.empty() && ints.size() == obj.size()) {
        std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
          return ints[x] < ints[y];
        });
      } else {
        std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
          return obj.key_at(x) < obj.key_at(y);
        });
      }
    }
    out += '{';
    for (std::size_t i = 0; i < order.size(); ++i) {
      separator(i == 0, level + 1);
      dump_string(out, obj.key_at(order[i]), o_.ensure_ascii);
      out += ": ";
      value(obj.value_at(order[i]), level + 1);
    }
    if (o_.indent >= 0) {
      newline(level);
    }
    out += '}';
  }

  const JsonDumpOptions& o_;
};

}  // namespace

std::string Json::dump(const JsonDumpOptions& options) const {
  Writer w(options);
  w.value(*this, 0);
  if (options.trailing_newline) {
    w.out += '\n';
  }
  return std::move(w.out);
}

std::string to_json_string(const Json& value) {
  JsonDumpOptions o;
  o.trailing_newline = true;
  return value.dump(o);
}

void write_json_file(
    const std::filesystem::path& path, const Json& value, const JsonDumpOptions& options) {
  const std::string text = value.dump(options);
  write_file_atomic(path.string(),
                    std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

}  // namespace peftcpp
