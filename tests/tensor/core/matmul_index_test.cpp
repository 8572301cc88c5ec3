// matmul.h and the index ops: hand-computed values in every rank combination, strided operands,
// 16-bit inputs, and error messages.
#include <doctest/doctest.h>

#include "tensor/ops.h"
#include "test_helpers.h"

using namespace peftcpp;
using peftcpp::testing::values;

namespace {
Tensor f32(const std::vector<float>& v, const Shape& s) {
  return tensor<float>(v, s);
}
// Naive reference product of row-major [m, k] and [k, n] given as vectors.
std::vector<double> naive_mm(
    const std::vector<double>& a,
    const std::vector<double>& b,
    std::int64_t m,
    std::int64_t k,
    std::int64_t n) {
  std::vector<double> c(static_cast<std::size_t>(m * n), 0.0);
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t p = 0; p < k; ++p)
        c[static_cast<std::size_t>(i * n + j)] +=
            a[static_cast<std::size_t>(i * k + p)] * b[static_cast<std::size_t>(p * n + j)];
  return c;
}
}  // namespace

TEST_CASE("matmul of vectors and matrices, hand-computed") {
  Tensor v = f32({1, 2, 3}, {3}), w = f32({4, 5, 6}, {3});
  Tensor dot = matmul(v, w);
  CHECK(dot.dim() == 0);
  CHECK(dot.item<float>() == 32);
  Tensor m = f32({1, 2, 3, 4, 5, 6}, {2, 3});  // [[1, 2, 3], [4, 5, 6]]
  CHECK_VALUES(matmul(m, v), {14, 32});
  CHECK(matmul(m, v).shape() == Shape{2});
  CHECK_VALUES(matmul(f32({1, -1}, {2}), m), {-3, -3, -3});
  Tensor n = f32({1, 0, 0, 1, 1, 1}, {3, 2});  // [[1, 0], [0, 1], [1, 1]]
  CHECK_VALUES(matmul(m, n), {4, 5, 10, 11});
  CHECK_VALUES(mm(m, n), {4, 5, 10, 11});
  CHECK_VALUES(m.matmul(n), {4, 5, 10, 11});
  CHECK_VALUES(outer(f32({1, 2}, {2}), f32({3, 4, 5}, {3})), {3, 4, 5, 6, 8, 10});
  CHECK_VALUES(kron(f32({1, 2}, {1, 2}), f32({1, 10}, {2, 1})), {1, 2, 10, 20});
  CHECK(kron(f32({1, 2}, {1, 2}), f32({1, 10}, {2, 1})).shape() == Shape{2, 2});
}

TEST_CASE("batched matmul: bmm, broadcast batch dims, batched @ matrix, linear") {
  Tensor a = arange(0.0, 12.0, 1.0, kFloat32).reshape({2, 2, 3});
  Tensor b = arange(0.0, 12.0, 1.0, kFloat32).reshape({2, 3, 2});
  const std::vector<double> av = values(a), bv = values(b);
  std::vector<double> want;
  for (int i = 0; i < 2; ++i) {
    auto c = naive_mm(
        std::vector<double>(av.begin() + 6 * i, av.begin() + 6 * i + 6),
        std::vector<double>(bv.begin() + 6 * i, bv.begin() + 6 * i + 6),
        2,
        3,
        2);
    want.insert(want.end(), c.begin(), c.end());
  }
  CHECK_VALUES(bmm(a, b), want);
  CHECK_VALUES(matmul(a, b), want);
  // [2, 1, 2, 3] @ [3, 3, 2] -> [2, 3, 2, 2]: every batch pair
  Tensor a4 = a.unsqueeze(1);
  Tensor b3 = arange(0.0, 18.0, 1.0, kFloat32).reshape({3, 3, 2});
  Tensor c = matmul(a4, b3);
  CHECK(c.shape() == Shape{2, 3, 2, 2});
  const std::vector<double> b3v = values(b3);
  Tensor c12 = c.select(0, 1).select(0, 2);
  CHECK_VALUES(
      c12,
      naive_mm(
          std::vector<double>(av.begin() + 6, av.end()),
          std::vector<double>(b3v.begin() + 12, b3v.end()),
          2,
          3,
          2));
  // batched @ matrix folds the batch into rows
  Tensor w = f32({1, 0, 0, 1, 1, 1}, {3, 2});
  CHECK_VALUES(matmul(a, w), {2, 3, 8, 9, 14, 15, 20, 21});
  // linear: x @ W^T + b
  Tensor x = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor W = f32({1, 0, 0, 0, 1, 0}, {2, 3});
  CHECK_VALUES(linear(x, W, f32({10, 20}, {2})), {11, 22, 14, 25});
  CHECK_VALUES(linear(x, W), {1, 2, 4, 5});
  CHECK(linear(x.unsqueeze(0), W).shape() == Shape{1, 2, 2});
}

TEST_CASE("matmul of transposed, sliced and expanded operands matches a contiguous copy") {
  Generator g(8);
  Tensor a = randn({7, 5}, kFloat64, &g), b = randn({6, 7}, kFloat64, &g);
  const std::vector<double> want =
      naive_mm(values(a.t().contiguous()), values(b.t().contiguous()), 5, 7, 6);
  CHECK(peftcpp::testing::near(values(matmul(a.t(), b.t())), want, 1e-12, 1e-12));
  Tensor big = randn({8, 10}, kFloat64, &g);
  Tensor sl = big.slice(1, 1, 10, 2);  // [8, 5] with column stride 2
  CHECK(peftcpp::testing::near(
      values(matmul(sl, a.t().slice(0, 0, 5))),
      naive_mm(values(sl.contiguous()), values(a.t().contiguous()), 8, 5, 7),
      1e-12,
      1e-12));
  Tensor e = randn({1, 5}, kFloat64, &g).expand({4, 5});  // stride-0 rows
  CHECK(peftcpp::testing::near(
      values(matmul(e, a.t())),
      naive_mm(values(e.contiguous()), values(a.t().contiguous()), 4, 5, 7),
      1e-12,
      1e-12));
  Tensor bb = randn({3, 4}, kFloat64, &g).unsqueeze(0).expand({2, 3, 4});  // batch stride 0
  Tensor r = matmul(bb, randn({2, 4, 2}, kFloat64, &g));
  CHECK(r.shape() == Shape{2, 3, 2});
}

TEST_CASE("matmul of 16-bit floats is computed in float32 and rounded once") {
  Tensor a = f32({1.5f, 2.25f, -1, 0.5f}, {2, 2}).to(kBFloat16);
  Tensor b = f32({2, 0, 1, 4}, {2, 2}).to(kBFloat16);
  Tensor c = matmul(a, b);
  CHECK(c.dtype() == kBFloat16);
  CHECK_VALUES(c, {5.25, 9, -1.5, 2});
  CHECK(matmul(a.to(kFloat16), b.to(kFloat16)).dtype() == kFloat16);
  CHECK_VALUES(matmul(a.to(kFloat16), b.to(kFloat16)), {5.25, 9, -1.5, 2});
  CHECK_VALUES(matmul(zeros({2, 0}), zeros({0, 3})), {0, 0, 0, 0, 0, 0});
  CHECK(matmul(zeros({0, 4}), zeros({4, 3})).shape() == Shape{0, 3});
}

TEST_CASE("matmul errors name the op and shapes") {
  Tensor m = zeros({2, 3});
  CHECK_THROWS_WITH_PARTS(ShapeError, matmul(m, zeros({4, 5})), "[matmul]", "[2, 3]", "[4, 5]");
  CHECK_THROWS_WITH_PARTS(ShapeError, matmul(zeros({3}), zeros({4})), "[matmul]", "[3]", "[4]");
  CHECK_THROWS_WITH_PARTS(ShapeError, matmul(scalar_tensor(1.0), m), "[matmul]", "[]");
  CHECK_THROWS_WITH_PARTS(
      ShapeError, matmul(zeros({2, 2, 3}), zeros({3, 3, 4})), "[matmul]", "[2]", "[3]");
  CHECK_THROWS_WITH_PARTS(
      DTypeError, matmul(m, zeros({3, 2}, kFloat64)), "[matmul]", "float32", "float64");
  CHECK_THROWS_WITH_PARTS(
      DTypeError, matmul(zeros({2, 3}, kInt64), zeros({3, 2}, kInt64)), "[matmul]", "int64");
  CHECK_THROWS_WITH_PARTS(ShapeError, mm(zeros({2, 3, 1}), m), "[mm]", "2-D");
  CHECK_THROWS_WITH_PARTS(ShapeError, mm(m, m), "[mm]", "[2, 3] @ [2, 3]");
  CHECK_THROWS_WITH_PARTS(
      ShapeError, bmm(zeros({2, 2, 3}), zeros({3, 3, 2})), "[bmm]", "[2, 2, 3]", "[3, 3, 2]");
  CHECK_THROWS_WITH_PARTS(ShapeError, linear(zeros({2, 4}), m), "[linear]", "[2, 4]", "[2, 3]");
  CHECK_THROWS_WITH_PARTS(
      ShapeError, linear(zeros({2, 3}), m, zeros({3})), "[linear]", "bias", "[3]");
  CHECK_THROWS_WITH_PARTS(ShapeError, outer(m, zeros({2})), "[outer]", "[2, 3]");
}

TEST_CASE("index_select, gather, scatter, scatter_add and index_add values") {
  Tensor x = arange(0.0, 12.0, 1.0, kFloat32).reshape({4, 3});
  Tensor idx = tensor<std::int64_t>({3, 0, 3});
  CHECK_VALUES(index_select(x, 0, idx), {9, 10, 11, 0, 1, 2, 9, 10, 11});
  CHECK_VALUES(index_select(x, 1, tensor<std::int64_t>({2, 0})), {2, 0, 5, 3, 8, 6, 11, 9});
  CHECK_VALUES(index_select(x, -1, tensor<std::int32_t>({1})), {1, 4, 7, 10});
  CHECK(index_select(x, 0, tensor<std::int64_t>({}, {0})).shape() == Shape{0, 3});
  CHECK_VALUES(index_select(x.t(), 0, tensor<std::int64_t>({1})), {1, 4, 7, 10});
  Tensor gi = tensor<std::int64_t>({2, 0, 1, 1}, {2, 2});
  CHECK_VALUES(gather(x, 1, gi), {2, 0, 4, 4});
  CHECK_VALUES(gather(x, 0, tensor<std::int64_t>({3, 2, 1}, {1, 3})), {9, 7, 5});
  Tensor z = zeros({2, 4});
  Tensor src = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor si = tensor<std::int64_t>({3, 0, 1, 2, 2, 0}, {2, 3});
  CHECK_VALUES(scatter(z, 1, si, src), {2, 3, 0, 1, 6, 0, 5, 0});
  CHECK_VALUES(
      scatter_add(z, 1, tensor<std::int64_t>({1, 1, 1, 0, 3, 3}, {2, 3}), src),
      {0, 6, 0, 0, 4, 0, 0, 11});
  CHECK_VALUES(scatter(z, 1, tensor<std::int64_t>({1}, {1, 1}), src), {0, 1, 0, 0, 0, 0, 0, 0});
  CHECK(values(z) == std::vector<double>(8, 0.0));  // out of place
  Tensor base = ones({3, 2});
  CHECK_VALUES(
      index_add(base, 0, tensor<std::int64_t>({2, 2}), f32({1, 2, 3, 4}, {2, 2}), 10.0),
      {1, 1, 1, 1, 41, 61});
  CHECK_VALUES(
      index_add(base, 1, tensor<std::int64_t>({0}), f32({5, 6, 7}, {3, 1})), {6, 1, 7, 1, 8, 1});
}

TEST_CASE("index ops: error messages name the op, the bounds and the shapes") {
  Tensor x = zeros({4, 3});
  CHECK_THROWS_WITH_PARTS(
      IndexError,
      index_select(x, 0, tensor<std::int64_t>({0, 4})),
      "[index_select]",
      "[0, 4]",
      "size 4");
  CHECK_THROWS_WITH_PARTS(
      IndexError, index_select(x, 0, tensor<std::int64_t>({-1, 0})), "[index_select]", "-1");
  CHECK_THROWS_WITH_PARTS(
      DTypeError, index_select(x, 0, tensor<float>({0, 1})), "[index_select]", "float32");
  CHECK_THROWS_WITH_PARTS(
      ShapeError,
      index_select(x, 0, tensor<std::int64_t>({0, 1}, {1, 2})),
      "[index_select]",
      "[1, 2]");
  CHECK_THROWS_WITH_PARTS(
      IndexError, index_select(x, 2, tensor<std::int64_t>({0})), "[index_select]", "dimension 2");
  CHECK_THROWS_WITH_PARTS(
      ShapeError, gather(x, 1, tensor<std::int64_t>({0, 1})), "[gather]", "[2]", "[4, 3]");
  CHECK_THROWS_WITH_PARTS(
      ShapeError, gather(x, 1, zeros({5, 1}, kInt64)), "[gather]", "[5, 1]", "dim 0");
  CHECK_THROWS_WITH_PARTS(IndexError, gather(x, 1, full({1, 1}, 3, kInt64)), "[gather]", "size 3");
  CHECK_THROWS_WITH_PARTS(
      ShapeError,
      scatter(x, 0, zeros({2, 2}, kInt64), zeros({1, 2})),
      "[scatter]",
      "[2, 2]",
      "[1, 2]");
  CHECK_THROWS_WITH_PARTS(
      IndexError,
      scatter_add(x, 0, full({1, 1}, 4, kInt64), zeros({1, 1})),
      "[scatter_add]",
      "size 4");
  CHECK_THROWS_WITH_PARTS(
      ShapeError,
      index_add(x, 0, tensor<std::int64_t>({0, 1}), zeros({2, 2})),
      "[index_add]",
      "[2, 2]",
      "[2, 3]");
}
