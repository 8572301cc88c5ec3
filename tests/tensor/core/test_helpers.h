// Small helpers shared by the tensor core tests: element access and error-message checks.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tensor/ops.h"

namespace peftcpp::testing {

/// Elements as doubles (row-major), whatever the dtype.
inline std::vector<double> values(const Tensor& t) {
  return t.to_vector<double>();
}

/// Element-wise |a - b| <= atol + rtol * |b|; NaN matches NaN; equal infinities match.
inline bool near(
    const std::vector<double>& a,
    const std::vector<double>& b,
    double atol = 1e-6,
    double rtol = 1e-6) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) {
      if (!(std::isnan(a[i]) && std::isnan(b[i])))
        return false;
      continue;
    }
    if (a[i] == b[i])
      continue;
    if (!(std::fabs(a[i] - b[i]) <= atol + rtol * std::fabs(b[i])))
      return false;
  }
  return true;
}

inline std::string str(const std::vector<double>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

/// Checks that `expr` throws `Err` whose message contains every string in `parts`.
#define CHECK_THROWS_WITH_PARTS(Err, expr, ...)                                                 \
  do {                                                                                          \
    bool thrown_ = false;                                                                       \
    try {                                                                                       \
      (void)(expr);                                                                             \
    } catch (const Err& e_) {                                                                   \
      thrown_ = true;                                                                           \
      const std::string msg_ = e_.what();                                                       \
      for (const std::string& part_ : std::vector<std::string>{__VA_ARGS__}) {                  \
        CHECK_MESSAGE(                                                                          \
            msg_.find(part_) != std::string::npos, "message '", msg_, "' lacks '", part_, "'"); \
      }                                                                                         \
    }                                                                                           \
    CHECK_MESSAGE(thrown_, #expr " did not throw " #Err);                                       \
  } while (0)

#define CHECK_VALUES(t, ...)                                        \
  do {                                                              \
    const std::vector<double> got_ = ::peftcpp::testing::values(t); \
    const std::vector<double> want_ = __VA_ARGS__;                  \
    CHECK_MESSAGE(                                                  \
        ::peftcpp::testing::near(got_, want_),                      \
        "got ",                                                     \
        ::peftcpp::testing::str(got_),                              \
        " want ",                                                   \
        ::peftcpp::testing::str(want_));                            \
  } while (0)

#define CHECK_VALUES_TOL(t, atol, ...)                              \
  do {                                                              \
    const std::vector<double> got_ = ::peftcpp::testing::values(t); \
    const std::vector<double> want_ = __VA_ARGS__;                  \
    CHECK_MESSAGE(                                                  \
        ::peftcpp::testing::near(got_, want_, atol, 0.0),           \
        "got ",                                                     \
        ::peftcpp::testing::str(got_),                              \
        " want ",                                                   \
        ::peftcpp::testing::str(want_));                            \
  } while (0)

}  // namespace peftcpp::testing
