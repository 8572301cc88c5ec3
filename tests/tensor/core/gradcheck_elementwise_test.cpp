// Float64 gradcheck of every differentiable op in tensor/ops/elementwise.h.
#include <doctest/doctest.h>

#include <cmath>

#include "gradcheck_helpers.h"

using namespace peftcpp;
using namespace peftcpp::testing;

TEST_CASE("gradcheck: binary arithmetic with broadcasting") {
  Tensor a = gc_randn({2, 3}, 1), b = gc_randn({3}, 2), c = gc_randn({2, 1}, 3);
  Tensor pb = gc_uniform({3}, 0.5, 2.0, 4), pa = gc_uniform({2, 3}, 0.5, 2.0, 5);
  expect_gradcheck("add", [](const TensorList& x) { return add(x[0], x[1]); }, {a, b});
  expect_gradcheck("add alpha", [](const TensorList& x) { return add(x[0], x[1], -2.5); }, {a, c});
  expect_gradcheck("sub", [](const TensorList& x) { return sub(x[0], x[1]); }, {c, b});
  expect_gradcheck("sub alpha", [](const TensorList& x) { return sub(x[0], x[1], 0.5); }, {a, b});
  expect_gradcheck("mul", [](const TensorList& x) { return mul(x[0], x[1]); }, {a, c});
  expect_gradcheck("mul same input", [](const TensorList& x) { return mul(x[0], x[0]); }, {a});
  expect_gradcheck("div", [](const TensorList& x) { return div(x[0], x[1]); }, {a, pb});
  expect_gradcheck("pow tensor", [](const TensorList& x) { return pow(x[0], x[1]); }, {pa, b});
  expect_gradcheck("maximum", [](const TensorList& x) { return maximum(x[0], x[1]); }, {a, b});
  expect_gradcheck("minimum", [](const TensorList& x) { return minimum(x[0], x[1]); }, {c, b});
  expect_gradcheck("atan2", [](const TensorList& x) { return atan2(x[0], x[1]); }, {a, b});
  expect_gradcheck(
      "operators",
      [](const TensorList& x) { return (x[0] + x[1]) * x[0] - x[1] / x[2]; },
      {a, b, pb});
  expect_gradcheck(
      "0-d operand", [](const TensorList& x) { return mul(x[0], x[1]); }, {a, gc_randn({}, 6)});
  // one input without requires_grad
  Tensor constant = b.detach();
  expect_gradcheck(
      "mul by constant", [constant](const TensorList& x) { return mul(x[0], constant); }, {a});
  expect_gradcheck(
      "div by constant", [pb](const TensorList& x) { return div(pb.detach(), x[0]); }, {pa});
}

TEST_CASE("gradcheck: scalar arithmetic and scalar pow") {
  Tensor a = gc_randn({2, 3}, 11), p = gc_uniform({2, 3}, 0.3, 2.0, 12);
  expect_gradcheck("add scalar", [](const TensorList& x) { return add(x[0], 1.5); }, {a});
  expect_gradcheck("sub scalar", [](const TensorList& x) { return sub(x[0], 1.5); }, {a});
  expect_gradcheck("mul scalar", [](const TensorList& x) { return mul(x[0], -3.0); }, {a});
  expect_gradcheck("div scalar", [](const TensorList& x) { return div(x[0], 4.0); }, {a});
  expect_gradcheck("rsub", [](const TensorList& x) { return rsub(x[0], 2.0); }, {a});
  expect_gradcheck("scalar / tensor", [](const TensorList& x) { return 2.0 / x[0]; }, {p});
  expect_gradcheck(
      "scalar operators", [](const TensorList& x) { return 1.0 - (x[0] * 2.0 + 3.0) / 5.0; }, {a});
  for (double e : {2.0, 3.0, 0.5, -1.5, 1.0, 0.0}) {
    expect_gradcheck(
        "pow scalar " + std::to_string(e), [e](const TensorList& x) { return pow(x[0], e); }, {p});
  }
}

TEST_CASE("gradcheck: smooth unary ops") {
  Tensor a = gc_randn({3, 4}, 21);
  Tensor pos = gc_uniform({3, 4}, 0.2, 3.0, 22);
  Tensor gt_m1 = gc_uniform({3, 4}, -0.8, 3.0, 23);
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> on_reals = {
      {"neg", [](const Tensor& x) { return neg(x); }},
      {"exp", [](const Tensor& x) { return exp(x); }},
      {"expm1", [](const Tensor& x) { return expm1(x); }},
      {"square", [](const Tensor& x) { return square(x); }},
      {"sin", [](const Tensor& x) { return sin(x); }},
      {"cos", [](const Tensor& x) { return cos(x); }},
      {"tanh", [](const Tensor& x) { return tanh(x); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
      {"gelu", [](const Tensor& x) { return gelu(x); }},
      {"gelu tanh", [](const Tensor& x) { return gelu(x, "tanh"); }},
      {"silu", [](const Tensor& x) { return silu(x); }},
      {"softplus", [](const Tensor& x) { return softplus(x); }},
      {"softplus beta", [](const Tensor& x) { return softplus(x, 2.0, 1.0); }},
      {"erf", [](const Tensor& x) { return erf(x); }},
      {"unary minus", [](const Tensor& x) { return -x; }},
  };
  for (const auto& [name, fn] : on_reals) {
    expect_gradcheck(name, [fn](const TensorList& x) { return fn(x[0]); }, {a});
  }
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> on_pos = {
      {"log", [](const Tensor& x) { return log(x); }},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }},
      {"reciprocal", [](const Tensor& x) { return reciprocal(x); }},
  };
  for (const auto& [name, fn] : on_pos) {
    expect_gradcheck(name, [fn](const TensorList& x) { return fn(x[0]); }, {pos});
  }
  expect_gradcheck("log1p", [](const TensorList& x) { return log1p(x[0]); }, {gt_m1});
}

TEST_CASE("gradcheck: ops with kinks, away from the kinks") {
  Tensor a = gc_away_from({3, 4}, -3.0, 3.0, {0.0, -1.0, 1.0, 2.0}, 0.05, 31);
  expect_gradcheck("abs", [](const TensorList& x) { return abs(x[0]); }, {a});
  expect_gradcheck("relu", [](const TensorList& x) { return relu(x[0]); }, {a});
  expect_gradcheck("clamp", [](const TensorList& x) { return clamp(x[0], -1.0, 1.0); }, {a});
  expect_gradcheck("clamp_min", [](const TensorList& x) { return clamp_min(x[0], 1.0); }, {a});
  expect_gradcheck("clamp_max", [](const TensorList& x) { return clamp_max(x[0], -1.0); }, {a});
  Tensor frac =
      gc_away_from({3, 4}, -3.0, 3.0, {-2.5, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 2.5}, 0.05, 32);
  expect_gradcheck("sign", [](const TensorList& x) { return mul(sign(x[0]), x[0]); }, {frac});
  expect_gradcheck("floor", [](const TensorList& x) { return add(floor(x[0]), x[0]); }, {frac});
  expect_gradcheck("ceil", [](const TensorList& x) { return add(ceil(x[0]), x[0]); }, {frac});
  expect_gradcheck("round", [](const TensorList& x) { return add(round(x[0]), x[0]); }, {frac});
  // softplus above its threshold is the identity
  Tensor big = gc_uniform({5}, 25.0, 30.0, 33);
  expect_gradcheck(
      "softplus linear region", [](const TensorList& x) { return softplus(x[0]); }, {big});
}

TEST_CASE("gradcheck: where and masked_fill") {
  Tensor a = gc_randn({2, 3}, 41), b = gc_randn({3}, 42);
  Tensor cond = tensor<bool>({true, false, true, false, false, true}, {2, 3});
  expect_gradcheck(
      "where", [cond](const TensorList& x) { return where(cond, x[0], x[1]); }, {a, b});
  expect_gradcheck(
      "where scalar", [cond](const TensorList& x) { return where(cond, x[0], 2.0); }, {a});
  Tensor mask = tensor<bool>({false, true, true});
  expect_gradcheck(
      "masked_fill", [mask](const TensorList& x) { return masked_fill(x[0], mask, -1.0); }, {a});
}

TEST_CASE("gradcheck: a composite expression over several ops") {
  Tensor a = gc_randn({4, 3}, 51), b = gc_uniform({3}, 0.5, 1.5, 52);
  expect_gradcheck(
      "composite",
      [](const TensorList& x) {
        Tensor h = silu(add(mul(x[0], x[1]), 0.1));
        return div(tanh(h), add(sigmoid(x[0]), x[1]));
      },
      {a, b});
}

TEST_CASE("gradcheck reports a wrong gradient (detach hides half of d(x*x)/dx)") {
  Tensor a = gc_randn({3}, 61);
  const GradcheckResult r =
      gradcheck([](const TensorList& x) { return mul(x[0].detach(), x[0]); }, {a});
  CHECK_FALSE(r.ok);
  CHECK(r.message.find("[gradcheck] input 0") != std::string::npos);
}
