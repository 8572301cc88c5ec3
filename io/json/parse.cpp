// JSON parser with Python `json.loads` semantics.
//
// Accepted as Python accepts them: NaN, Infinity, -Infinity; integers without fraction/exponent
// become Int (must fit int64), everything else Float; duplicate keys keep the first position and
// the last value; lone UTF-16 surrogates from \u escapes are kept (stored as 3-byte WTF-8 sequences
// so that dump() writes them back). Rejected as Python rejects them: control characters inside
// strings, leading zeros, trailing data, invalid escapes. Input must be UTF-8 (a leading BOM is
// skipped). Errors: IoError "[json] <source>:<line>:<col>: <what>".
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

#include "io/json/json.h"
#include "tensor/error.h"

namespace peftcpp {
namespace {

constexpr int kMaxDepth = 1000;

class Parser {
 public:
  Parser(std::string_view text, std::string_view source) : s_(text), source_(source) {}

  Json parse_document() {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") {
      pos_ = 3;
    }
    skip_ws();
    Json v = parse_value(0);
    skip_ws();
    if (pos_ != s_.size()) {
      fail("extra data after the JSON value");
    }
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    fail_at(pos_, what);
  }

  [[noreturn]] void fail_at(std::size_t at, const std::string& what) const {
    std::size_t line = 1;
    std::size_t col = 1;
    for (std::size_t i = 0; i < at && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    throw IoError(detail::concat("[json] ", source_, ":", line, ":", col, ": ", what));
  }

  bool at_end() const {
    return pos_ >= s_.size();
  }
  char peek() const {
    return at_end() ? '\0' : s_[pos_];
  }

  void skip_ws() {
    while (!at_end()) {
      const char c = s_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
        break;
      }
      ++pos_;
    }
  }

  bool consume_literal(std::string_view lit) {
    if (s_.substr(pos_, lit.size()) == lit) {
      pos_ += lit.size();
      return true;
    }
    return false;
  }

  Json parse_value(int depth) {
    if (depth > kMaxDepth) {
      fail("nesting deeper than 1000 levels");
    }
    if (at_end()) {
      fail("expected a value, got end of input");
    }
    const char c = s_[pos_];
    switch (c) {
      case '{':
        return parse_object(depth);
      case '[':
        return parse_array(depth);
      case '"':
        return Json(parse_string());
      case 'n':
        if (consume_literal("null")) {
          return Json();
        }
        break;
      case 't':
        if (consume_literal("true")) {
          return Json(true);
        }
        break;
      case 'f':
        if (consume_literal("false")) {
          return Json(false);
        }
        break;
      case 'N':
        if (consume_literal("NaN")) {
          return Json(std::numeric_limits<double>::quiet_NaN());
        }
        break;
      case 'I':
        if (consume_literal("Infinity")) {
          return Json(std::numeric_limits<double>::infinity());
        }
        break;
      default:
        if (c == '-' || (c >= '0' && c <= '9')) {
          return parse_number();
        }
    }
    fail(detail::concat("expected a value, got '", printable(c), "'"));
  }

  static std::string printable(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      return std::string(1, c);
    }
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", u);
    return buf;
  }

  Json parse_object(int depth) {
    ++pos_;  // '{'
    JsonObject obj;
    skip_ws();
    if (peek() == '}') {
      ++pos_;
      return Json(std::move(obj));
    }
    while (true) {
      skip_ws();
      if (peek() != '"') {
        fail("expected a string key in double quotes");
      }
      std::string key = parse_string();
      skip_ws();
      if (peek() != ':') {
        fail("expected ':' after object key");
      }
      ++pos_;
      skip_ws();
      obj.set(key, parse_value(depth + 1));
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        return Json(std::move(obj));
      }
      fail("expected ',' or '}' in object");
    }
  }

  Json parse_array(int depth) {
    ++pos_;  // '['
    JsonArray arr;
    skip_ws();
    if (peek() == ']') {
      ++pos_;
      return Json(std::move(arr));
    }
    while (true) {
      skip_ws();
      arr.push_back(parse_value(depth + 1));
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        return Json(std::move(arr));
      }
      fail("expected ',' or ']' in array");
    }
  }

  Json parse_number() {
    const std::size_t start = pos_;
    bool negative = false;
    if (peek() == '-') {
      negative = true;
      ++pos_;
      if (consume_literal("Infinity")) {
        return Json(-std::numeric_limits<double>::infinity());
      }
    }
    if (peek() == '0') {
      ++pos_;
    } else if (peek() >= '1' && peek() <= '9') {
      while (peek() >= '0' && peek() <= '9') {
        ++pos_;
      }
    } else {
      fail("expected a digit");
    }
    bool is_float = false;
    if (peek() == '.' && pos_ + 1 < s_.size() && s_[pos_ + 1] >= '0' && s_[pos_ + 1] <= '9') {
      is_float = true;
      ++pos_;
      while (peek() >= '0' && peek() <= '9') {
        ++pos_;
      }
    }
    if (peek() == 'e' || peek() == 'E') {
      std::size_t p = pos_ + 1;
      if (p < s_.size() && (s_[p] == '+' || s_[p] == '-')) {
        ++p;
      }
      if (p < s_.size() && s_[p] >= '0' && s_[p] <= '9') {
        is_float = true;
        pos_ = p;
        while (peek() >= '0' && peek() <= '9') {
          ++pos_;
        }
      }
    }
    const std::string_view text = s_.substr(start, pos_ - start);
    if (!is_float) {
      std::int64_t v = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || ptr != text.data() + text.size()) {
        fail_at(start, detail::concat("integer ", text, " does not fit in 64 bits"));
      }
      return Json(v);
    }
    double d = 0.0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (ec == std::errc::result_out_of_range) {
      d = overflow_value(text, negative);
    } else if (ec != std::errc() || ptr != text.data() + text.size()) {
      fail_at(start, detail::concat("invalid number ", text));
    }
    return Json(d);
  }

  // from_chars reports overflow and underflow alike; Python gives +-inf or +-0.0.
  static double overflow_value(std::string_view text, bool negative) {
    long exp10 = 0;
    const std::size_t e = text.find_first_of("eE");
    if (e != std::string_view::npos) {
      exp10 = std::strtol(std::string(text.substr(e + 1)).c_str(), nullptr, 10);
    }
    const std::string_view mant = text.substr(0, e);
    // Position of the first significant digit relative to the decimal point.
    long int_digits = 0;
    bool seen_point = false;
    long lead_frac_zeros = 0;
    bool seen_nonzero = false;
    for (char c : mant) {
      if (c == '.') {
        seen_point = true;
      } else if (c >= '0' && c <= '9') {
        if (c != '0') {
          seen_nonzero = true;
        }
        if (!seen_point && seen_nonzero) {
          ++int_digits;
        } else if (seen_point && !seen_nonzero) {
          ++lead_frac_zeros;
        }
      }
    }
    const long magnitude = int_digits > 0 ? int_digits + exp10 : exp10 - lead_frac_zeros;
    const double v = magnitude > 0 ? std::numeric_limits<double>::infinity() : 0.0;
    return negative ? -v : v;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    // Lone surrogates (0xD800-0xDFFF) are encoded like any other BMP code point (WTF-8).
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::uint32_t parse_hex4() {
    if (pos_ + 4 > s_.size()) {
      fail("truncated \\u escape");
    }
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_ + static_cast<std::size_t>(i)];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        fail("invalid \\u escape (expected 4 hex digits)");
      }
    }
    pos_ += 4;
    return v;
  }

  // Copies one UTF-8 encoded character starting at pos_, validating it.
  void copy_utf8_char(std::string& out) {
    const auto b0 = static_cast<unsigned char>(s_[pos_]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
      cp = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      cp = b0 & 0x0F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      cp = b0 & 0x07;
    } else {
      fail("invalid UTF-8 byte in string");
    }
    if (pos_ + len > s_.size()) {
      fail("truncated UTF-8 sequence in string");
    }
    for (std::size_t i = 1; i < len; ++i) {
      const auto b = static_cast<unsigned char>(s_[pos_ + i]);
      if ((b & 0xC0) != 0x80) {
        fail("invalid UTF-8 sequence in string");
      }
      cp = (cp << 6) | (b & 0x3F);
    }
    const bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      fail("invalid UTF-8 sequence in string");
    }
    out.append(s_.substr(pos_, len));
    pos_ += len;
  }

  std::string parse_string() {
    const std::size_t start = pos_;
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      if (at_end()) {
        fail_at(start, "unterminated string");
      }
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        fail("invalid control character in string");
      }
      if (static_cast<unsigned char>(c) >= 0x80) {
        copy_utf8_char(out);
        continue;
      }
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      ++pos_;
      if (at_end()) {
        fail_at(start, "unterminated string");
      }
      const char e = s_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          std::uint32_t cp = parse_hex4();
          // A high surrogate followed by an escaped low surrogate forms one code point.
          if (cp >= 0xD800 && cp <= 0xDBFF && s_.substr(pos_, 2) == "\\u") {
            const std::size_t save = pos_;
            pos_ += 2;
            const std::uint32_t lo = parse_hex4();
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              pos_ = save;
            }
          }
          append_utf8(out, cp);
          break;
        }
        default:
          pos_ -= 2;
          fail(detail::concat("invalid escape '\\", printable(e), "'"));
      }
    }
  }

  std::string_view s_;
  std::string_view source_;
  std::size_t pos_ = 0;
};

}  // namespace

Json Json::parse(std::string_view text, std::string_view source) {
  return Parser(text, source).parse_document();
}

Json Json::parse_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw IoError(detail::concat(
        "[json] cannot open ", path.string(), ": ", std::generic_category().message(errno)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    throw IoError(detail::concat("[json] error reading ", path.string()));
  }
  return parse(ss.str(), path.string());
}

}  // namespace peftcpp
