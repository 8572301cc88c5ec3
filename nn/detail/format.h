// Python-style formatting for module reprs (internal, not installed).
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace peftcpp::nn::detail {

/// repr() of a Python float: shortest round-trip digits, scientific below 1e-4 or from 1e16.
inline std::string py_float(double v) {
  if (std::isnan(v))
    return "nan";
  if (std::isinf(v))
    return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // "-1.2345e-05"
  const std::size_t e = sci.find('e');
  std::string mant = sci.substr(0, e);
  const int exp10 = std::stoi(sci.substr(e + 1));
  const bool neg = !mant.empty() && mant[0] == '-';
  if (neg)
    mant.erase(0, 1);
  std::string digits;
  for (char c : mant) {
    if (c != '.')
      digits.push_back(c);
  }
  std::string out;
  if (exp10 >= -4 && exp10 < 16) {
    if (exp10 < 0) {
      out = "0." + std::string(static_cast<std::size_t>(-exp10 - 1), '0') + digits;
    } else if (static_cast<std::size_t>(exp10) + 1 >= digits.size()) {
      out = digits + std::string(static_cast<std::size_t>(exp10) + 1 - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, static_cast<std::size_t>(exp10) + 1) + "." +
            digits.substr(static_cast<std::size_t>(exp10) + 1);
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1)
      out += "." + digits.substr(1);
    const int a = exp10 < 0 ? -exp10 : exp10;
    out += std::string("e") + (exp10 < 0 ? "-" : "+") + (a < 10 ? "0" : "") + std::to_string(a);
  }
  return neg ? "-" + out : out;
}

inline const char* py_bool(bool b) {
  return b ? "True" : "False";
}

/// Python tuple of ints: (3,) or (3, 3).
inline std::string py_tuple(const std::vector<std::int64_t>& v) {
  std::string out = "(";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + (v.size() == 1 ? ",)" : ")");
}

}  // namespace peftcpp::nn::detail
