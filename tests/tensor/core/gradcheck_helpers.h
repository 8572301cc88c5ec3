// Inputs and a checking wrapper for the float64 gradcheck tests.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>

#include "autograd/gradcheck.h"
#include "tensor/ops.h"

namespace peftcpp::testing {

/// Standard normal float64 leaf (deterministic per seed).
inline Tensor gc_randn(const Shape& shape, std::uint64_t seed) {
  Generator g(seed);
  return randn(shape, kFloat64, &g).requires_grad_();
}

/// Uniform float64 leaf on [lo, hi) (deterministic per seed).
inline Tensor gc_uniform(const Shape& shape, double lo, double hi, std::uint64_t seed) {
  Generator g(seed);
  return add(mul(rand(shape, kFloat64, &g), hi - lo), lo).requires_grad_();
}

/// Uniform values on [lo, hi) pushed at least `gap` away from every point in `avoid`
/// (for ops with kinks).
inline Tensor gc_away_from(
    const Shape& shape,
    double lo,
    double hi,
    const std::vector<double>& avoid,
    double gap,
    std::uint64_t seed) {
  Generator g(seed);
  Tensor t = add(mul(rand(shape, kFloat64, &g), hi - lo), lo);
  double* p = t.data_ptr<double>();
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    for (double a : avoid) {
      if (std::fabs(p[i] - a) < gap)
        p[i] = p[i] < a ? a - gap : a + gap;
    }
  }
  return t.requires_grad_();
}

inline void expect_gradcheck(
    const std::string& what,
    const std::function<Tensor(const TensorList&)>& f,
    const TensorList& inputs,
    const GradcheckOptions& options = {}) {
  const GradcheckResult r = gradcheck(f, inputs, options);
  CHECK_MESSAGE(r.ok, what, ": ", r.message);
}

}  // namespace peftcpp::testing
