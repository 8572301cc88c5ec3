// Reductions, arg-reductions, cumsum and the softmax family: hand-computed values, dims handling,
// empty inputs, strided inputs, NaN propagation and errors.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <limits>

#include "tensor/ops.h"
#include "test_helpers.h"

using namespace peftcpp;
using peftcpp::testing::values;

namespace {
// [[1, 2, 3], [4, 5, 6]]
Tensor m23() {
  return tensor<float>({1, 2, 3, 4, 5, 6}, {2, 3});
}
}  // namespace

TEST_CASE("sum, mean and prod over all dims, one dim, several dims, keepdim") {
  Tensor m = m23();
  CHECK(sum(m).dim() == 0);
  CHECK(sum(m).item<float>() == 21);
  CHECK(m.sum().item<float>() == 21);
  CHECK_VALUES(sum(m, {0}), {5, 7, 9});
  CHECK_VALUES(sum(m, {-1}), {6, 15});
  CHECK(sum(m, {1}, true).shape() == Shape{2, 1});
  CHECK(sum(m, {0, 1}, true).shape() == Shape{1, 1});
  CHECK_VALUES(mean(m, {0}), {2.5, 3.5, 4.5});
  CHECK(m.mean().item<float>() == 3.5f);
  CHECK_VALUES(prod(m, {1}), {6, 120});
  CHECK(prod(m).item<float>() == 720);
  Tensor c = arange(0.0, 24.0, 1.0, kFloat32).reshape({2, 3, 4});
  CHECK_VALUES(
      sum(c, {0, 2}),
      {0 + 1 + 2 + 3 + 12 + 13 + 14 + 15,
       4 + 5 + 6 + 7 + 16 + 17 + 18 + 19,
       8 + 9 + 10 + 11 + 20 + 21 + 22 + 23});
  CHECK(sum(c, {2, 0}, true).shape() == Shape{1, 3, 1});
  // 0-d input
  CHECK(sum(scalar_tensor(4.0)).item<float>() == 4);
  CHECK(sum(scalar_tensor(4.0), {0}).item<float>() == 4);
}

TEST_CASE("integer and bool sums accumulate in int64") {
  Tensor i = tensor<std::int32_t>({2000000000, 2000000000});
  CHECK(sum(i).dtype() == kInt64);
  CHECK(sum(i).item<std::int64_t>() == 4000000000LL);
  Tensor b = tensor<bool>({true, true, false, true});
  CHECK(sum(b).dtype() == kInt64);
  CHECK(sum(b).item<std::int64_t>() == 3);
  CHECK(prod(tensor<std::int8_t>({100, 100})).item<std::int64_t>() == 10000);
  CHECK(values(cumsum(tensor<bool>({true, false, true}), 0)) == std::vector<double>{1, 1, 2});
  CHECK(cumsum(tensor<std::int8_t>({100, 100}), 0).dtype() == kInt64);
}

TEST_CASE("empty reductions: sum 0, prod 1, mean NaN, max has no identity") {
  Tensor e = zeros({0, 3});
  CHECK_VALUES(sum(e, {0}), {0, 0, 0});
  CHECK_VALUES(prod(e, {0}), {1, 1, 1});
  CHECK(sum(e, {1}).shape() == Shape{0});
  CHECK(sum(e).item<float>() == 0);
  CHECK(std::isnan(mean(e).item<float>()));
  CHECK(amax(e, {1}).shape() == Shape{0});  // nothing to reduce per output: fine
  CHECK_THROWS_WITH_PARTS(ShapeError, amax(e, {0}), "[amax]", "[0, 3]");
  CHECK_THROWS_WITH_PARTS(ShapeError, amin(e), "[amin]", "[0, 3]");
  CHECK_THROWS_WITH_PARTS(ShapeError, max(e, 0), "[max]", "[0, 3]");
  CHECK(all(zeros({0}, kBool)).item<bool>());
  CHECK_FALSE(any(zeros({0}, kBool)).item<bool>());
}

TEST_CASE("amax, amin, max, min, argmax, argmin with ties (first index) and keepdim") {
  Tensor x = tensor<float>({3, 7, 7, -1, 2, 0}, {2, 3});
  CHECK_VALUES(amax(x, {1}), {7, 2});
  CHECK_VALUES(amin(x, {0}), {-1, 2, 0});
  CHECK(amax(x).item<float>() == 7);
  auto [v, i] = max(x, 1);
  CHECK_VALUES(v, {7, 2});
  CHECK(i.dtype() == kInt64);
  CHECK(values(i) == std::vector<double>{1, 1});
  auto [v2, i2] = min(x, 0, true);
  CHECK(v2.shape() == Shape{1, 3});
  CHECK(values(i2) == std::vector<double>{1, 1, 1});
  CHECK(values(argmax(x, 0)) == std::vector<double>{0, 0, 0});
  CHECK(values(argmin(x, -1)) == std::vector<double>{0, 0});
  CHECK(argmax(x, 1, true).shape() == Shape{2, 1});
  // integers
  Tensor n = tensor<std::int64_t>({5, -9, 5});
  CHECK(amax(n).item<std::int64_t>() == 5);
  CHECK(amin(n).dtype() == kInt64);
  CHECK(max(n, 0).second.item<std::int64_t>() == 0);
  // 0-d input
  auto [v0, i0] = max(scalar_tensor(3.0), 0);
  CHECK(v0.dim() == 0);
  CHECK(i0.item<std::int64_t>() == 0);
  CHECK_THROWS_WITH_PARTS(IndexError, max(x, 2), "[max]", "dimension 2");
}

TEST_CASE("NaN propagates through amax/amin/max/min/sum; arg-reductions point at the first NaN") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor x = tensor<float>({1, nan, 5, nan, 2, 9}, {2, 3});
  for (double v : values(amax(x, {1}))) CHECK(std::isnan(v));
  for (double v : values(amin(x, {1}))) CHECK(std::isnan(v));
  CHECK(std::isnan(amax(x).item<float>()));
  auto [v, i] = max(x, 1);
  CHECK(std::isnan(values(v)[0]));
  CHECK(std::isnan(values(v)[1]));
  CHECK(values(i) == std::vector<double>{1, 0});
  CHECK(values(argmin(x, 1)) == std::vector<double>{1, 0});
  CHECK(std::isnan(sum(x).item<float>()));
  // NaN after the running best, in a long reduction that is split into chunks
  Tensor big = zeros({1, 100000});
  big.select(1, 77777).fill_(nan);
  big.select(1, 5).fill_(3.0);
  CHECK(std::isnan(amax(big).item<float>()));
  CHECK(std::isnan(amin(big, {1}).item<float>()));
  CHECK(argmax(big, 1).item<std::int64_t>() == 77777);
}

TEST_CASE("long reductions are exact and do not depend on how they are split") {
  Tensor ones_big = ones({1, 1 << 20});
  CHECK(sum(ones_big).item<float>() == static_cast<float>(1 << 20));
  CHECK(sum(ones_big, {1}).item<float>() == static_cast<float>(1 << 20));
  Tensor r = arange(0.0, 300000.0, 1.0, kFloat32);
  CHECK(sum(r).item<float>() == static_cast<float>(299999.0 * 300000.0 / 2));  // rounded once
  CHECK(sum(r.to(kFloat64)).item<double>() == 299999.0 * 300000.0 / 2);
  CHECK(amax(r).item<float>() == 299999.0f);
  CHECK(amin(r.slice(0, 1, 300000)).item<float>() == 1.0f);
  // strided long reduction (every other element of a transposed matrix)
  Tensor m = arange(0.0, 200000.0, 1.0, kFloat64).reshape({1000, 200});
  CHECK(sum(m.t().select(0, 3)).item<double>() == 3 * 1000 + 200.0 * 999 * 1000 / 2);
  CHECK_VALUES(
      sum(m.t(), {1}).slice(0, 0, 2), {200.0 * 999 * 1000 / 2, 1000 + 200.0 * 999 * 1000 / 2});
}

TEST_CASE("column reductions (kept innermost dim) match a float64 reference") {
  Generator g(12);
  // [300, 37]: several row chunks; [5, 70, 3000]: kept prefix dim and wide column blocks
  Tensor a = randn({300, 37}, kFloat32, &g);
  std::vector<double> want(37, 0.0);
  const std::vector<double> av = values(a);
  for (std::size_t i = 0; i < av.size(); ++i) want[i % 37] += av[i];
  CHECK(peftcpp::testing::near(values(sum(a, {0})), want, 1e-4, 1e-6));
  Tensor b = randn({5, 70, 3000}, kFloat32, &g);
  Tensor s1 = sum(b, {1});
  CHECK(s1.shape() == Shape{5, 3000});
  const std::vector<double> bv = values(b);
  double ref = 0;
  for (int r = 0; r < 70; ++r) ref += bv[static_cast<std::size_t>(3 * 70 * 3000 + r * 3000 + 2999)];
  CHECK(values(s1)[3 * 3000 + 2999] == doctest::Approx(ref).epsilon(1e-6));
  // bias-gradient shape: sum over (0, 1) of [B, T, H]
  CHECK(max_abs_diff(sum(b, {0, 1}), sum(sum(b, {1}), {0})) < 1e-3);
  CHECK_VALUES(amax(tensor<float>({1, 9, 3, 4, 2, 8}, {3, 2}), {0}), {3, 9});
  CHECK_VALUES(amin(tensor<float>({1, 9, NAN, 4, 2, 8}, {3, 2}), {0}), {NAN, 4});
}

TEST_CASE("reductions give bit-identical results for 1, 2 and 3 threads") {
  Generator g(13);
  Tensor x = randn({3, 700, 300}, kFloat32, &g);
  Tensor flat = randn({1 << 20}, kFloat32, &g);
  auto run = [&](int threads) {
    omp_set_num_threads(threads);
    std::vector<std::vector<double>> r;
    for (const Dims& d : std::vector<Dims>{{}, {0}, {1}, {2}, {0, 1}, {1, 2}, {0, 2}}) {
      r.push_back(values(sum(x, d)));
      r.push_back(values(amax(x, d)));
    }
    r.push_back(values(sum(flat)));
    r.push_back(values(sum(flat.reshape({2, -1}), {1})));
    r.push_back(values(prod(add(mul(flat, 1e-3), 1.0))));
    r.push_back(values(sum(x.transpose(0, 2), {0})));
    r.push_back(values(mean(x.slice(2, 0, 300, 7), {1})));
    return r;
  };
  const int saved = omp_get_max_threads();
  const auto one = run(1), two = run(2), three = run(3);
  omp_set_num_threads(saved);
  CHECK(one == two);
  CHECK(one == three);
}

TEST_CASE("reductions over strided inputs (transposed, sliced, expanded)") {
  Tensor m = m23();
  CHECK_VALUES(sum(m.t(), {0}), {6, 15});
  CHECK_VALUES(sum(m.slice(1, 0, 3, 2), {1}), {4, 10});
  CHECK_VALUES(sum(tensor<float>({1, 2}).expand({3, 2}), {0}), {3, 6});
  CHECK_VALUES(amax(m.t(), {1}), {4, 5, 6});
  CHECK(values(argmax(m.t(), 0)) == std::vector<double>{2, 2});
  CHECK_VALUES(cumsum(m.t(), 0), {1, 4, 3, 9, 6, 15});
}

TEST_CASE("var, std and norm") {
  Tensor x = tensor<double>({2, 4, 4, 4, 5, 5, 7, 9});  // mean 5, sum of squares 32
  CHECK(var(x).item<double>() == doctest::Approx(32.0 / 7));
  CHECK(var(x, {}, 0.0).item<double>() == doctest::Approx(4.0));
  CHECK(peftcpp::std(x, {}, 0.0).item<double>() == doctest::Approx(2.0));
  Tensor m = tensor<double>({1, 2, 3, 4, 6, 8}, {2, 3});
  CHECK_VALUES(var(m, {1}), {1, 4});
  CHECK(var(m, {1}, 1.0, true).shape() == Shape{2, 1});
  CHECK(std::isnan(var(tensor<double>({3.0})).item<double>()));  // one sample, correction 1
  Tensor v = tensor<double>({3, -4});
  CHECK(norm(v).item<double>() == doctest::Approx(5));
  CHECK(norm(v, 1.0).item<double>() == doctest::Approx(7));
  CHECK(norm(v, INFINITY).item<double>() == doctest::Approx(4));
  CHECK(norm(v, 3.0).item<double>() == doctest::Approx(std::cbrt(27.0 + 64.0)));
  CHECK_VALUES(norm(tensor<double>({3, 4, 0, 0, 6, 8}, {3, 2}), 2.0, {1}), {5, 0, 10});
  CHECK(norm(m).item<double>() == doctest::Approx(std::sqrt(1 + 4 + 9 + 16 + 36 + 64.0)));
  CHECK_THROWS_WITH_PARTS(ValueError, norm(v, 0.0), "[norm]", "p");
  CHECK_THROWS_WITH_PARTS(DTypeError, var(tensor<std::int64_t>({1, 2})), "[var]", "int64");
  CHECK_THROWS_WITH_PARTS(DTypeError, mean(tensor<std::int64_t>({1, 2})), "[mean]", "int64");
}

TEST_CASE("logsumexp is stable for large inputs and handles -inf rows") {
  Tensor x = tensor<double>({1000, 1000, 0, std::log(3.0)}, {2, 2});
  CHECK_VALUES(logsumexp(x, {1}), {1000 + std::log(2.0), std::log(4.0)});
  CHECK(logsumexp(x, {1}, true).shape() == Shape{2, 1});
  Tensor n = tensor<double>({-INFINITY, -INFINITY});
  CHECK(logsumexp(n, {0}).item<double>() == -INFINITY);
  CHECK(logsumexp(tensor<double>({INFINITY, 1}), {0}).item<double>() == INFINITY);
}

TEST_CASE("all and any over dims, on bool, float and integer inputs") {
  Tensor b = tensor<bool>({true, false, true, true}, {2, 2});
  CHECK_FALSE(all(b).item<bool>());
  CHECK(any(b).item<bool>());
  CHECK(all(b, {0}).to_vector<bool>() == std::vector<bool>{true, false});
  CHECK(any(b, {1}).to_vector<bool>() == std::vector<bool>{true, true});
  CHECK(all(tensor<float>({1, NAN, -2})).item<bool>());
  CHECK_FALSE(any(tensor<std::int64_t>({0, 0})).item<bool>());
  CHECK(all(b, {1}, true).shape() == Shape{2, 1});
}

TEST_CASE("cumsum along each dim, on 0-d and with negative dims") {
  Tensor m = m23();
  CHECK_VALUES(cumsum(m, 1), {1, 3, 6, 4, 9, 15});
  CHECK_VALUES(cumsum(m, 0), {1, 2, 3, 5, 7, 9});
  CHECK_VALUES(cumsum(m, -1), {1, 3, 6, 4, 9, 15});
  CHECK(cumsum(scalar_tensor(2.0), 0).dim() == 0);
  CHECK_THROWS_WITH_PARTS(IndexError, cumsum(m, 2), "[cumsum]", "dimension 2");
}

TEST_CASE("dims arguments are validated") {
  Tensor m = m23();
  CHECK_THROWS_WITH_PARTS(IndexError, sum(m, {2}), "[sum]", "dimension 2", "2 dims");
  CHECK_THROWS_WITH_PARTS(IndexError, sum(m, {1, -1}), "[sum]", "more than once");
  CHECK_THROWS_WITH_PARTS(IndexError, amax(m, {-3}), "[amax]", "-3");
  CHECK_THROWS_WITH_PARTS(IndexError, softmax(m, 2), "[softmax]", "dimension 2");
  CHECK_THROWS_WITH_PARTS(IndexError, logsumexp(m, {5}), "[logsumexp]");
}

// ---- softmax -----------------------------------------------------------------------------

namespace {
// Reference softmax / log-softmax of each row of a row-major [rows, n] block, in double.
std::vector<double> softmax_ref(
    const std::vector<double>& x, std::int64_t rows, std::int64_t n, bool log_space) {
  std::vector<double> y(x.size());
  for (std::int64_t r = 0; r < rows; ++r) {
    const double* p = x.data() + r * n;
    double mx = -INFINITY;
    for (std::int64_t i = 0; i < n; ++i) mx = std::max(mx, p[i]);
    if (std::isinf(mx) && mx < 0)
      mx = 0;
    double s = 0;
    for (std::int64_t i = 0; i < n; ++i) s += std::exp(p[i] - mx);
    for (std::int64_t i = 0; i < n; ++i) {
      y[static_cast<std::size_t>(r * n + i)] =
          log_space ? p[i] - mx - std::log(s) : std::exp(p[i] - mx) / s;
    }
  }
  return y;
}
}  // namespace

TEST_CASE("softmax and log_softmax of small rows, hand-computed") {
  Tensor x = tensor<float>({1000, 1001, 0, 0}, {2, 2});
  const double e = std::exp(1.0);
  CHECK_VALUES(softmax(x, -1), {1 / (1 + e), e / (1 + e), 0.5, 0.5});
  CHECK_VALUES(
      log_softmax(x, 1), {-std::log1p(e), 1 - std::log1p(e), -std::log(2.0), -std::log(2.0)});
  CHECK_VALUES(softmax(x, 0), {1, 1, 0, 0});
  CHECK(softmax(scalar_tensor(3.0), 0).item<float>() == 1.0f);
  CHECK(softmax(tensor<std::int64_t>({0, 0}), 0).dtype() == kFloat32);
  CHECK(softmax(zeros({3, 0}), -1).shape() == Shape{3, 0});
  CHECK(softmax(zeros({0, 5}), -1).shape() == Shape{0, 5});
}

TEST_CASE("softmax: -inf entries get 0, an all -inf row is NaN, a NaN poisons its row only") {
  Tensor x =
      tensor<float>({-INFINITY, 0, -INFINITY, -INFINITY, -INFINITY, -INFINITY, 1, NAN, 2}, {3, 3});
  const std::vector<double> s = values(softmax(x, -1));
  CHECK(s[0] == 0);
  CHECK(s[1] == 1);
  CHECK(s[2] == 0);
  for (int i = 3; i < 9; ++i) CHECK(std::isnan(s[static_cast<std::size_t>(i)]));
  const std::vector<double> l = values(log_softmax(x, -1));
  CHECK(l[0] == -INFINITY);
  CHECK(l[1] == 0);
  for (int i = 3; i < 9; ++i) CHECK(std::isnan(l[static_cast<std::size_t>(i)]));
}

TEST_CASE("softmax matches a float64 reference for many row lengths, dtypes and layouts") {
  for (std::int64_t n : {1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 100, 1000, 4099}) {
    const std::int64_t rows = 5;
    Tensor x = mul(randn({rows, n}, kFloat32), 4.0);
    const std::vector<double> xv = values(x);
    for (bool log_space : {false, true}) {
      const std::vector<double> ref = softmax_ref(xv, rows, n, log_space);
      Tensor y = log_space ? log_softmax(x, -1) : softmax(x, -1);
      CHECK_MESSAGE(
          peftcpp::testing::near(values(y), ref, 1e-6, 1e-5), "n=", n, " log=", log_space);
      // the same rows laid out as columns (softmax over dim 0 of the transpose)
      Tensor yt = log_space ? log_softmax(x.t(), 0) : softmax(x.t(), 0);
      CHECK_MESSAGE(
          peftcpp::testing::near(values(yt.t()), ref, 1e-6, 1e-5), "n=", n, " transposed");
      // 16-bit and 64-bit inputs
      Tensor y64 = log_space ? log_softmax(x.to(kFloat64), -1) : softmax(x.to(kFloat64), -1);
      CHECK_MESSAGE(peftcpp::testing::near(values(y64), ref, 1e-12, 1e-12), "n=", n, " float64");
      Tensor xb = x.to(kBFloat16);
      const std::vector<double> refb = softmax_ref(values(xb), rows, n, log_space);
      Tensor yb = log_space ? log_softmax(xb, -1) : softmax(xb, -1);
      CHECK(yb.dtype() == kBFloat16);
      CHECK_MESSAGE(peftcpp::testing::near(values(yb), refb, 1e-3, 1e-2), "n=", n, " bfloat16");
      Tensor xh = x.to(kFloat16);
      const std::vector<double> refh = softmax_ref(values(xh), rows, n, log_space);
      Tensor yh = log_space ? log_softmax(xh, -1) : softmax(xh, -1);
      CHECK_MESSAGE(peftcpp::testing::near(values(yh), refh, 1e-4, 2e-3), "n=", n, " float16");
    }
  }
}

TEST_CASE("softmax rows sum to one for wide rows, many rows (parallel path) and a middle dim") {
  Tensor x = mul(randn({300, 4096}), 10.0);
  Tensor s = sum(softmax(x, -1), {1});
  CHECK(max_abs_diff(s, ones({300})) < 1e-5);
  Tensor x3 = randn({4, 50, 6});
  Tensor s3 = softmax(x3, 1);
  CHECK(max_abs_diff(sum(s3, {1}), ones({4, 6})) < 1e-5);
  const std::vector<double> xv = values(x3.permute({0, 2, 1}));
  CHECK(peftcpp::testing::near(
      values(s3.permute({0, 2, 1})), softmax_ref(xv, 24, 50, false), 1e-6, 1e-5));
  // softmax of a sliced (non-contiguous, stepped) input
  Tensor sl = x.slice(1, 0, 4096, 3);
  const std::vector<double> ref = softmax_ref(values(sl), 300, sl.size(1), true);
  CHECK(peftcpp::testing::near(values(log_softmax(sl, -1)), ref, 1e-5, 1e-5));
}
