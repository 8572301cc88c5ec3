// Element-wise ops: hand-computed values, broadcasting edge cases, strided inputs, type
// promotion, NaN handling and error messages.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "tensor/ops.h"
#include "test_helpers.h"

using namespace peftcpp;
using peftcpp::testing::values;

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

Tensor f32(const std::vector<float>& v, Shape s = {}) {
  if (s.empty())
    s = {static_cast<std::int64_t>(v.size())};
  return tensor<float>(v, s);
}
Tensor f64(const std::vector<double>& v, Shape s = {}) {
  if (s.empty())
    s = {static_cast<std::int64_t>(v.size())};
  return tensor<double>(v, s);
}
Tensor i64(const std::vector<std::int64_t>& v, Shape s = {}) {
  if (s.empty())
    s = {static_cast<std::int64_t>(v.size())};
  return tensor<std::int64_t>(v, s);
}
}  // namespace

TEST_CASE("binary arithmetic with alpha, scalars and operators") {
  Tensor a = f32({1, 2, 3, 4}), b = f32({0.5, -1, 2, 8});
  CHECK_VALUES(add(a, b), {1.5, 1, 5, 12});
  CHECK_VALUES(add(a, b, 2.0), {2, 0, 7, 20});
  CHECK_VALUES(sub(a, b), {0.5, 3, 1, -4});
  CHECK_VALUES(sub(a, b, 0.5), {0.75, 2.5, 2, 0});
  CHECK_VALUES(mul(a, b), {0.5, -2, 6, 32});
  CHECK_VALUES(div(a, b), {2, -2, 1.5, 0.5});
  CHECK_VALUES(pow(a, f32({2, 0.5, -1, 0})), {1, std::sqrt(2.0), 1.0 / 3, 1});
  CHECK_VALUES(pow(a, 3.0), {1, 8, 27, 64});
  CHECK_VALUES(pow(a, -0.5), {1, 1 / std::sqrt(2.0), 1 / std::sqrt(3.0), 0.5});
  CHECK_VALUES(maximum(a, b), {1, 2, 3, 8});
  CHECK_VALUES(minimum(a, b), {0.5, -1, 2, 4});
  CHECK_VALUES(
      atan2(f64({1, -1, 0, 1}), f64({1, 1, -1, 0})), {M_PI / 4, -M_PI / 4, M_PI, M_PI / 2});
  CHECK_VALUES(add(a, 1.5), {2.5, 3.5, 4.5, 5.5});
  CHECK_VALUES(sub(a, 1.0), {0, 1, 2, 3});
  CHECK_VALUES(mul(a, -2.0), {-2, -4, -6, -8});
  CHECK_VALUES(div(a, 4.0), {0.25, 0.5, 0.75, 1});
  CHECK_VALUES(rsub(a, 10.0), {9, 8, 7, 6});
  CHECK_VALUES(a + b, {1.5, 1, 5, 12});
  CHECK_VALUES(a - b, {0.5, 3, 1, -4});
  CHECK_VALUES(a * b, {0.5, -2, 6, 32});
  CHECK_VALUES(a / b, {2, -2, 1.5, 0.5});
  CHECK_VALUES(-a, {-1, -2, -3, -4});
  CHECK_VALUES(a + 1.0, {2, 3, 4, 5});
  CHECK_VALUES(a - 1.0, {0, 1, 2, 3});
  CHECK_VALUES(a * 3.0, {3, 6, 9, 12});
  CHECK_VALUES(a / 2.0, {0.5, 1, 1.5, 2});
  CHECK_VALUES(1.0 + a, {2, 3, 4, 5});
  CHECK_VALUES(1.0 - a, {0, -1, -2, -3});
  CHECK_VALUES(3.0 * a, {3, 6, 9, 12});
  CHECK_VALUES(12.0 / a, {12, 6, 4, 3});
}

TEST_CASE(
    "tensor / scalar is exact division; scalar / tensor is reciprocal times scalar, as PyTorch") {
  // 0.3f / 3 and 0.3f * (1/3) differ in the last bit
  const float x = 0.3f;
  Tensor t = f32({x});
  CHECK(div(t, 3.0).item<float>() == x / 3.0f);
  CHECK((t / 3.0).item<float>() == x / 3.0f);
  // torch's __rtruediv__ is reciprocal() * other
  Tensor d = f32({3.0f, 7.0f, 0.1f});
  const std::vector<float> r = (0.7 / d).to_vector<float>();
  CHECK(r[0] == (1.0f / 3.0f) * 0.7f);
  CHECK(r[1] == (1.0f / 7.0f) * 0.7f);
  CHECK(r[2] == (1.0f / 0.1f) * 0.7f);
  CHECK((2.0 / i64({4})).dtype() == kFloat32);
  CHECK((2.0 / i64({4})).item<float>() == 0.5f);
}

TEST_CASE("unary math ops match std:: references") {
  const std::vector<double> xs = {-2.5, -1, -0.25, 0.0, 0.3, 1, 2.5};
  Tensor x = f64(xs);
  auto expect = [&](Tensor got, double (*f)(double)) {
    std::vector<double> want;
    for (double v : xs) want.push_back(f(v));
    CHECK_VALUES_TOL(got, 1e-12, want);
  };
  expect(neg(x), [](double v) { return -v; });
  expect(abs(x), [](double v) { return std::fabs(v); });
  expect(exp(x), [](double v) { return std::exp(v); });
  expect(expm1(x), [](double v) { return std::expm1(v); });
  expect(square(x), [](double v) { return v * v; });
  expect(sin(x), [](double v) { return std::sin(v); });
  expect(cos(x), [](double v) { return std::cos(v); });
  expect(tanh(x), [](double v) { return std::tanh(v); });
  expect(sigmoid(x), [](double v) { return 1 / (1 + std::exp(-v)); });
  expect(relu(x), [](double v) { return v > 0 ? v : 0.0; });
  expect(gelu(x), [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); });
  expect(gelu(x, "tanh"), [](double v) {
    return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
  });
  expect(silu(x), [](double v) { return v / (1 + std::exp(-v)); });
  expect(softplus(x), [](double v) { return std::log1p(std::exp(v)); });
  expect(erf(x), [](double v) { return std::erf(v); });
  expect(sign(x), [](double v) { return static_cast<double>((v > 0) - (v < 0)); });
  expect(floor(x), [](double v) { return std::floor(v); });
  expect(ceil(x), [](double v) { return std::ceil(v); });
  expect(clamp(x, -1.0, 1.0), [](double v) { return std::min(1.0, std::max(-1.0, v)); });
  expect(clamp_min(x, 0.1), [](double v) { return std::max(0.1, v); });
  expect(clamp_max(x, 0.1), [](double v) { return std::min(0.1, v); });
  Tensor p = f64({0.5, 1, 4, 9});
  CHECK_VALUES(log(p), {std::log(0.5), 0, std::log(4.0), std::log(9.0)});
  CHECK_VALUES(log1p(p), {std::log1p(0.5), std::log(2.0), std::log(5.0), std::log(10.0)});
  CHECK_VALUES(sqrt(p), {std::sqrt(0.5), 1, 2, 3});
  CHECK_VALUES(rsqrt(p), {1 / std::sqrt(0.5), 1, 0.5, 1.0 / 3});
  CHECK_VALUES(reciprocal(p), {2, 1, 0.25, 1.0 / 9});
  // round: half to even
  CHECK_VALUES(round(f32({0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6})), {0, 2, 2, -0, -2, 2, 3});
  // softplus with beta and threshold: x when beta*x > threshold
  CHECK_VALUES(softplus(f64({1, 30}), 2.0, 20.0), {std::log1p(std::exp(2.0)) / 2, 30});
  CHECK_THROWS_WITH_PARTS(ValueError, gelu(x, "fast"), "[gelu]", "fast");
}

TEST_CASE("special values: log of zero and negatives, sqrt of negatives, exp overflow") {
  const std::vector<double> v = values(log(f32({0, -1})));
  CHECK(v[0] == -kInf);
  CHECK(std::isnan(v[1]));
  CHECK(std::isnan(sqrt(f32({-1})).item<float>()));
  CHECK(exp(f32({100})).item<float>() == INFINITY);
  CHECK(exp(f32({-200})).item<float>() == 0.0f);
  CHECK(sigmoid(f32({-200})).item<float>() == 0.0f);
  CHECK(sigmoid(f32({200})).item<float>() == 1.0f);
  CHECK(reciprocal(f32({0})).item<float>() == INFINITY);
}

TEST_CASE("integer inputs: math ops promote to float32, exact ops keep the dtype") {
  Tensor i = i64({-3, 0, 4});
  CHECK(exp(i).dtype() == kFloat32);
  CHECK(sqrt(i64({4, 9})).dtype() == kFloat32);
  CHECK(neg(i).dtype() == kInt64);
  CHECK(values(neg(i)) == std::vector<double>{3, 0, -4});
  CHECK(values(abs(i)) == std::vector<double>{3, 0, 4});
  CHECK(values(square(i)) == std::vector<double>{9, 0, 16});
  CHECK(values(sign(i)) == std::vector<double>{-1, 0, 1});
  CHECK(values(clamp(i, -1, 2)) == std::vector<double>{-1, 0, 2});
  CHECK(add(i, 2.0).dtype() == kInt64);
  CHECK(values(mul(i, 3.0)) == std::vector<double>{-9, 0, 12});
  CHECK(add(i, 0.5).dtype() == kFloat32);
  CHECK(values(add(i, 0.5)) == std::vector<double>{-2.5, 0.5, 4.5});
  CHECK(div(i, 2.0).dtype() == kFloat32);
  CHECK(values(div(i, 2.0)) == std::vector<double>{-1.5, 0, 2});
  CHECK(values(pow(i, 2.0)) == std::vector<double>{9, 0, 16});
  CHECK(pow(i, 2.0).dtype() == kInt64);
  CHECK(pow(i64({4}), 0.5).dtype() == kFloat32);
  CHECK(values(floor(i)) == values(i));
}

TEST_CASE("integer true division gives float32, and dividing by zero gives inf/nan as PyTorch") {
  Tensor q = div(i64({7, -7, 1, -1, 0}), i64({2, 2, 0, 0, 0}));
  CHECK(q.dtype() == kFloat32);
  const std::vector<double> v = values(q);
  CHECK(v[0] == 3.5);
  CHECK(v[1] == -3.5);
  CHECK(v[2] == kInf);
  CHECK(v[3] == -kInf);
  CHECK(std::isnan(v[4]));
  CHECK(values(div(i64({3}), 0.0))[0] == kInf);
}

TEST_CASE("integer powers: exact by squaring; negative exponents are rejected") {
  CHECK(values(pow(i64({2, 3, -2}), i64({10, 3, 3}))) == std::vector<double>{1024, 27, -8});
  CHECK(values(pow(i64({3}), i64({0}))) == std::vector<double>{1});
  CHECK_THROWS_WITH_PARTS(ValueError, pow(i64({2, 3}), i64({1, -1})), "[pow]", "negative");
  CHECK_THROWS_WITH_PARTS(ValueError, pow(i64({2}), -1.0), "[pow]", "negative");
}

TEST_CASE("bool tensors: arithmetic is logical, affine ops promote to int64") {
  Tensor t = tensor<bool>({true, true, false, false}), f = tensor<bool>({true, false, true, false});
  CHECK(add(t, f).dtype() == kBool);
  CHECK(add(t, f).to_vector<bool>() == std::vector<bool>{true, true, true, false});
  CHECK(mul(t, f).to_vector<bool>() == std::vector<bool>{true, false, false, false});
  CHECK(add(t, 1.0).dtype() == kInt64);
  CHECK(values(add(t, 1.0)) == std::vector<double>{2, 2, 1, 1});
  CHECK(values(mul(t, 2.5)) == std::vector<double>{2.5, 2.5, 0, 0});
  CHECK_THROWS_WITH_PARTS(DTypeError, neg(t), "bool");
}

TEST_CASE("comparisons, logic and classification return bool") {
  Tensor a = f32({1, 2, 3, NAN}), b = f32({3, 2, 1, NAN});
  CHECK(eq(a, b).dtype() == kBool);
  CHECK(eq(a, b).to_vector<bool>() == std::vector<bool>{false, true, false, false});
  CHECK(ne(a, b).to_vector<bool>() == std::vector<bool>{true, false, true, true});
  CHECK(lt(a, b).to_vector<bool>() == std::vector<bool>{true, false, false, false});
  CHECK(le(a, b).to_vector<bool>() == std::vector<bool>{true, true, false, false});
  CHECK(gt(a, b).to_vector<bool>() == std::vector<bool>{false, false, true, false});
  CHECK(ge(a, b).to_vector<bool>() == std::vector<bool>{false, true, true, false});
  CHECK(eq(a, 2.0).to_vector<bool>() == std::vector<bool>{false, true, false, false});
  CHECK(lt(a, 2.5).to_vector<bool>() == std::vector<bool>{true, true, false, false});
  CHECK(ge(i64({1, 2, 3}), 1.5).to_vector<bool>() == std::vector<bool>{false, true, true});
  CHECK(ne(i64({1, 2}), 2.0).to_vector<bool>() == std::vector<bool>{true, false});
  CHECK(le(a, 2.0).to_vector<bool>() == std::vector<bool>{true, true, false, false});
  CHECK(gt(a, 2.0).to_vector<bool>() == std::vector<bool>{false, false, true, false});
  Tensor p = tensor<bool>({true, true, false, false}), q = tensor<bool>({true, false, true, false});
  CHECK(logical_and(p, q).to_vector<bool>() == std::vector<bool>{true, false, false, false});
  CHECK(logical_or(p, q).to_vector<bool>() == std::vector<bool>{true, true, true, false});
  CHECK(logical_xor(p, q).to_vector<bool>() == std::vector<bool>{false, true, true, false});
  CHECK(logical_not(p).to_vector<bool>() == std::vector<bool>{false, false, true, true});
  CHECK(logical_and(f32({0, 2}), i64({1, 1})).to_vector<bool>() == std::vector<bool>{false, true});
  CHECK(logical_not(f32({0, -1})).to_vector<bool>() == std::vector<bool>{true, false});
  Tensor s = f32({1, INFINITY, -INFINITY, NAN});
  CHECK(isnan(s).to_vector<bool>() == std::vector<bool>{false, false, false, true});
  CHECK(isinf(s).to_vector<bool>() == std::vector<bool>{false, true, true, false});
  CHECK(isfinite(s).to_vector<bool>() == std::vector<bool>{true, false, false, false});
  CHECK(isfinite(i64({5})).to_vector<bool>() == std::vector<bool>{true});
  CHECK(isnan(tensor<bool>({true})).to_vector<bool>() == std::vector<bool>{false});
}

TEST_CASE("NaN propagates through maximum, minimum, clamp and relu") {
  Tensor a = f32({NAN, 1, NAN}), b = f32({0, NAN, NAN});
  for (const Tensor& r : {maximum(a, b), minimum(a, b)}) {
    for (double v : values(r)) CHECK(std::isnan(v));
  }
  CHECK(std::isnan(clamp(f32({NAN}), 0, 1).item<float>()));
  CHECK(std::isnan(relu(f32({NAN})).item<float>()));
  CHECK(values(maximum(f32({-INFINITY}), f32({-1e30f})))[0] == -1e30f);
}

TEST_CASE("where and masked_fill broadcast all operands") {
  Tensor cond = tensor<bool>({true, false, true});
  CHECK_VALUES(where(cond, f32({1, 2, 3}), f32({-1, -2, -3})), {1, -2, 3});
  CHECK_VALUES(where(cond, f32({1, 2, 3}), 0.5), {1, 0.5, 3});
  // cond [3, 1] x a [3] x b [] -> [3, 3]
  Tensor c2 = tensor<bool>({true, false, true}, {3, 1});
  Tensor w = where(c2, f32({1, 2, 3}), scalar_tensor(0.0));
  CHECK(w.shape() == Shape{3, 3});
  CHECK_VALUES(w, {1, 2, 3, 0, 0, 0, 1, 2, 3});
  // a non-bool condition means "nonzero"
  CHECK_VALUES(where(f32({0, 2}), f32({1, 1}), f32({5, 5})), {5, 1});
  // mixed dtypes promote
  CHECK(where(cond, i64({1, 2, 3}), f64({0, 0, 0})).dtype() == kFloat64);
  Tensor x = f32({1, 2, 3, 4}, {2, 2});
  CHECK_VALUES(masked_fill(x, tensor<bool>({false, true}), -9.0), {1, -9, 3, -9});
  CHECK(masked_fill(i64({1, 2}), tensor<bool>({true, false}), 7).dtype() == kInt64);
  CHECK_THROWS_WITH_PARTS(
      DTypeError, masked_fill(x, f32({0, 1}), 0.0), "[masked_fill]", "bool", "float32");
  CHECK_THROWS_WITH_PARTS(
      ShapeError,
      masked_fill(x, tensor<bool>({true, false, true}), 0.0),
      "[masked_fill]",
      "[3]",
      "[2, 2]");
  CHECK_THROWS_WITH_PARTS(
      ShapeError,
      masked_fill(f32({1, 2}), tensor<bool>({true, false, true, true}, {2, 2}), 0.0),
      "[masked_fill]",
      "[2, 2]",
      "[2]");
  CHECK_THROWS_WITH_PARTS(
      ShapeError, where(cond, f32({1, 2}), f32({1, 2, 3})), "[where]", "[3]", "[2]");
}

TEST_CASE("broadcasting: size-1 dims, new leading dims, scalars, 0-d and 0-size dims") {
  Tensor col = f32({1, 2}, {2, 1}), row = f32({10, 20, 30}, {1, 3});
  Tensor s = add(col, row);
  CHECK(s.shape() == Shape{2, 3});
  CHECK_VALUES(s, {11, 21, 31, 12, 22, 32});
  Tensor r3 = add(f32({1, 2, 3}), zeros({2, 1, 3}));
  CHECK(r3.shape() == Shape{2, 1, 3});
  CHECK_VALUES(mul(f32({1, 2, 3, 4, 5, 6}, {2, 3}), scalar_tensor(2.0)), {2, 4, 6, 8, 10, 12});
  Tensor zd = add(scalar_tensor(1.5), scalar_tensor(2.0));
  CHECK(zd.dim() == 0);
  CHECK(zd.item<float>() == 3.5f);
  CHECK(add(scalar_tensor(1.0), f32({1}, {1})).shape() == Shape{1});
  // zero-size dims
  CHECK(add(zeros({0, 3}), f32({1, 2, 3})).shape() == Shape{0, 3});
  CHECK(add(zeros({0}), f32({1})).shape() == Shape{0});
  CHECK(mul(zeros({2, 0}), zeros({1, 0})).shape() == Shape{2, 0});
  CHECK(exp(zeros({0, 4})).shape() == Shape{0, 4});
  CHECK_THROWS_WITH_PARTS(ShapeError, add(zeros({0}), f32({1, 2})), "[add]", "[0]", "[2]");
  CHECK_THROWS_WITH_PARTS(
      ShapeError, add(f32({1, 2, 3}), f32({1, 2, 3, 4})), "[add]", "[3]", "[4]");
  CHECK_THROWS_WITH_PARTS(
      ShapeError, mul(zeros({2, 3}), zeros({3, 2})), "[mul]", "[2, 3]", "[3, 2]");
  CHECK_THROWS_WITH_PARTS(ShapeError, eq(zeros({2}), zeros({3})), "[eq]", "[2]", "[3]");
  CHECK_THROWS_WITH_PARTS(ValueError, add(Tensor(), f32({1})), "[add]", "undefined");
}

TEST_CASE("non-contiguous inputs: transposed, strided slices, expanded, and in-place on views") {
  Tensor m = arange(0.0, 12.0, 1.0, kFloat32).reshape({3, 4});
  // transposed + contiguous
  Tensor t = add(m.t(), arange(0.0, 12.0, 1.0, kFloat32).reshape({4, 3}));
  CHECK_VALUES(t, {0, 5, 10, 4, 9, 14, 8, 13, 18, 12, 17, 22});
  // stepped slice
  CHECK_VALUES(mul(m.slice(1, 0, 4, 2), m.slice(1, 1, 4, 2)), {0, 6, 20, 42, 72, 110});
  // expanded on both sides
  Tensor e = sub(f32({1, 2}, {2, 1}).expand({2, 3}), f32({1, 2, 3}).expand({2, 3}));
  CHECK_VALUES(e, {0, -1, -2, 1, 0, -1});
  // unary on a strided view
  CHECK_VALUES(neg(m.select(1, 1)), {-1, -5, -9});
  CHECK_VALUES(exp(m.t().slice(0, 0, 1)), {1, std::exp(4.0), std::exp(8.0)});
  // output of a strided op is contiguous
  CHECK(add(m.t(), 1.0).is_contiguous());
  // large strided input crosses the parallel threshold
  Tensor big = arange(0.0, 200000.0, 1.0, kFloat32).reshape({400, 500});
  Tensor bt = add(big.t(), 1.0);
  CHECK(bt.select(0, 499).select(0, 399).item<float>() == 399 * 500 + 499 + 1);
  CHECK(bt.select(0, 3).select(0, 7).item<float>() == 7 * 500 + 3 + 1);
  // in-place helpers on views
  Tensor z = zeros({3, 4});
  z.t().add_(f32({1, 2, 3}));
  CHECK_VALUES(z, {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
  z.slice(1, 0, 4, 2).mul_(10.0);
  CHECK_VALUES(z, {10, 1, 10, 1, 20, 2, 20, 2, 30, 3, 30, 3});
  z.select(0, 0).mul_(f32({0, 1, 2, 3}));
  CHECK_VALUES(z.select(0, 0), {0, 1, 20, 3});
  z.add_(scalar_tensor(1.0), -2.0);
  CHECK_VALUES(z.select(0, 1), {18, 0, 18, 0});
  CHECK_THROWS_WITH_PARTS(ShapeError, z.add_(zeros({2, 3, 4})), "[add_]", "[2, 3, 4]", "[3, 4]");
}

TEST_CASE("type promotion of mixed operands") {
  CHECK(add(tensor<std::int32_t>({1}), f32({1})).dtype() == kFloat32);
  CHECK(add(tensor<std::int8_t>({1}), tensor<std::uint8_t>({1})).dtype() == kInt16);
  CHECK(add(f32({1}).to(kFloat16), f32({1}).to(kBFloat16)).dtype() == kFloat32);
  CHECK(add(f32({1}), f64({1})).dtype() == kFloat64);
  CHECK(add(tensor<bool>({true}), tensor<std::int32_t>({1})).dtype() == kInt32);
  // 0-d tensors of the same category do not widen dimensioned ones
  CHECK(add(f32({1, 2}), scalar_tensor(1.0, kFloat64)).dtype() == kFloat32);
  CHECK(add(scalar_tensor(1.0, kInt64), tensor<std::int32_t>({1, 2})).dtype() == kInt32);
  // ... but a higher category does
  CHECK(add(i64({1, 2}), scalar_tensor(1.5, kFloat64)).dtype() == kFloat64);
  CHECK(values(add(i64({1, 2}), scalar_tensor(1.5, kFloat64))) == std::vector<double>{2.5, 3.5});
  // two 0-d tensors promote normally
  CHECK(add(scalar_tensor(1.0, kFloat32), scalar_tensor(1.0, kFloat64)).dtype() == kFloat64);
  // tensor-scalar: the tensor's dtype wins
  CHECK(add(f32({1}).to(kBFloat16), 1.0).dtype() == kBFloat16);
  CHECK(mul(f32({1}).to(kFloat16), 0.1).dtype() == kFloat16);
  // half-precision arithmetic is computed in float32 and rounded once
  Tensor h = add(f32({1.0f}).to(kBFloat16), f32({1.0f / 256}).to(kBFloat16));
  CHECK(h.to(kFloat32).item<float>() == 1.0f);  // 1 + 2^-8 is a tie, rounds to even
}

TEST_CASE("allclose and max_abs_diff") {
  Tensor a = f32({1, 2, INFINITY}), b = f32({1, 2.0000001f, INFINITY});
  CHECK(allclose(a, b));
  CHECK_FALSE(allclose(a, f32({1, 2.1f, INFINITY})));
  CHECK_FALSE(allclose(f32({NAN}), f32({NAN})));
  CHECK_FALSE(allclose(f32({INFINITY}), f32({-INFINITY})));
  CHECK_FALSE(allclose(f32({1, 2}), f32({1, 2}, {1, 2})));
  CHECK(allclose(f32({1}), f32({1.05f}), 0.1, 0.0));
  CHECK(max_abs_diff(f32({1, 5}), f32({1.5f, 3})) == 2.0);
  CHECK(std::isnan(max_abs_diff(f32({NAN}), f32({0}))));
  CHECK(max_abs_diff(zeros({0}), zeros({0})) == 0.0);
  CHECK_THROWS_WITH_PARTS(
      ShapeError, max_abs_diff(zeros({2}), zeros({3})), "[max_abs_diff]", "[2]", "[3]");
}

TEST_CASE("16-bit float element-wise ops round the float32 result once") {
  Tensor a = f32({1.5f, -2.25f, 3.0f}).to(kBFloat16);
  CHECK(mul(a, a).dtype() == kBFloat16);
  CHECK_VALUES(mul(a, a), {2.25, 5.0625, 9});
  Tensor h = f32({0.1f, 0.2f}).to(kFloat16);
  const std::vector<double> s = values(add(h, h));
  CHECK(s[0] == half_to_float(float_to_half(2 * half_to_float(float_to_half(0.1f)))));
  CHECK_VALUES_TOL(exp(f32({0.5f}).to(kBFloat16)), 0.01, {std::exp(0.5)});
}
