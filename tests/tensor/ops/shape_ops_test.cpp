// Values of the shape ops (cat, stack, split, chunk, tril/triu, diag, repeat, flip, roll, pad),
// checked against results worked out by hand, plus their edge cases and errors.
#include <doctest/doctest.h>

#include "tensor/ops.h"

using namespace peftcpp;

namespace {
using F = std::vector<float>;
using L = std::vector<std::int64_t>;

Tensor iota_f(const Shape& shape) {
  return arange(0.0, static_cast<double>(shape_numel(shape)), 1.0, kFloat32).reshape(shape);
}
}  // namespace

TEST_CASE("cat joins along a negative dim and promotes int64 with float32 to float32") {
  Tensor a = tensor<std::int64_t>({1, 2, 3, 4}, {2, 2});
  Tensor b = tensor<float>({5.5f, 6.5f}, {2, 1});
  Tensor c = cat({a, b}, -1);
  CHECK(c.dtype() == kFloat32);
  CHECK(c.shape() == Shape{2, 3});
  CHECK(c.to_vector<float>() == F{1, 2, 5.5f, 3, 4, 6.5f});
}

TEST_CASE("cat along dim 0 of a non-contiguous view and float64 promotion") {
  Tensor a = iota_f({2, 3}).t();  // [[0,3],[1,4],[2,5]]
  Tensor b = tensor<double>({7, 8}, {1, 2});
  Tensor c = cat({a, b}, 0);
  CHECK(c.dtype() == kFloat64);
  CHECK(c.to_vector<double>() == std::vector<double>{0, 3, 1, 4, 2, 5, 7, 8});
}

TEST_CASE("cat skips legacy 1-D empty tensors and keeps zero-size pieces of matching rank") {
  Tensor a = iota_f({2, 2});
  Tensor legacy = empty({0}, kFloat32);
  Tensor zero_rows = empty({0, 2}, kFloat32);
  Tensor c = cat({legacy, a, zero_rows, a}, 0);
  CHECK(c.shape() == Shape{4, 2});
  CHECK(c.to_vector<float>() == F{0, 1, 2, 3, 0, 1, 2, 3});
  CHECK(cat({legacy, legacy}).shape() == Shape{0});
}

TEST_CASE("cat with mismatched shapes throws ShapeError naming cat and both shapes") {
  Tensor a = zeros({2, 3});
  Tensor b = zeros({2, 4});
  CHECK_THROWS_AS(cat({a, b}, 0), ShapeError);
  try {
    cat({a, b}, 0);
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("[cat]") == 0);
    CHECK(msg.find("[2, 4]") != std::string::npos);
    CHECK(msg.find("[2, 3]") != std::string::npos);
  }
  CHECK_THROWS_AS(cat({zeros({2}), zeros({2, 1})}), ShapeError);
  CHECK_THROWS_AS(cat({}), ShapeError);
}

TEST_CASE("stack inserts a new dim, including a negative one") {
  Tensor a = tensor<float>({1, 2});
  Tensor b = tensor<float>({3, 4});
  CHECK(stack({a, b}).to_vector<float>() == F{1, 2, 3, 4});
  Tensor s = stack({a, b}, -1);
  CHECK(s.shape() == Shape{2, 2});
  CHECK(s.to_vector<float>() == F{1, 3, 2, 4});
  CHECK_THROWS_AS(stack({a, zeros({3})}), ShapeError);
}

TEST_CASE("split gives views with a shorter last piece and split_with_sizes checks the sum") {
  Tensor x = iota_f({5, 2});
  TensorList parts = split(x, 2, 0);
  REQUIRE(parts.size() == 3);
  CHECK(parts[2].shape() == Shape{1, 2});
  CHECK(parts[1].to_vector<float>() == F{4, 5, 6, 7});
  CHECK(parts[1].storage() == x.storage());
  TensorList cols = split_with_sizes(x, {1, 0, 1}, -1);
  CHECK(cols[0].to_vector<float>() == F{0, 2, 4, 6, 8});
  CHECK(cols[1].numel() == 0);
  CHECK_THROWS_AS(split_with_sizes(x, {2, 2}, 0), ShapeError);
}

TEST_CASE("chunk uses ceil(n / chunks) and may return fewer pieces; empty dim gives empty pieces") {
  Tensor x = iota_f({5});
  TensorList c = chunk(x, 3);
  REQUIRE(c.size() == 3);
  CHECK(c[0].to_vector<float>() == F{0, 1});
  CHECK(c[2].to_vector<float>() == F{4});
  CHECK(chunk(iota_f({4}), 3).size() == 2);  // ceil(4/3) = 2 -> [0,1], [2,3]
  TensorList e = chunk(empty({0, 3}), 4, 0);
  CHECK(e.size() == 4);
  CHECK(e[3].shape() == Shape{0, 3});
}

TEST_CASE("tril and triu with offsets on a batched non-contiguous input") {
  Tensor x = add(iota_f({3, 3}), 1.0);  // 1..9
  CHECK(tril(x).to_vector<float>() == F{1, 0, 0, 4, 5, 0, 7, 8, 9});
  CHECK(triu(x, 1).to_vector<float>() == F{0, 2, 3, 0, 0, 6, 0, 0, 0});
  CHECK(tril(x, -1).to_vector<float>() == F{0, 0, 0, 4, 0, 0, 7, 8, 0});
  Tensor b = stack({x, x}).transpose(-1, -2);  // each x^T: [[1,4,7],[2,5,8],[3,6,9]]
  CHECK(triu(b).to_vector<float>() == F{1, 4, 7, 0, 5, 8, 0, 0, 9, 1, 4, 7, 0, 5, 8, 0, 0, 9});
  Tensor r = tril(iota_f({2, 3}), 1);  // rectangular: [[0,1,0],[3,4,5]]
  CHECK(r.to_vector<float>() == F{0, 1, 0, 3, 4, 5});
  CHECK_THROWS_AS(tril(zeros({3})), ShapeError);
}

TEST_CASE("diag builds a matrix from a vector and reads a diagonal with offsets") {
  Tensor v = tensor<float>({1, 2});
  CHECK(diag(v).to_vector<float>() == F{1, 0, 0, 2});
  Tensor up = diag(v, 1);
  CHECK(up.shape() == Shape{3, 3});
  CHECK(up.to_vector<float>() == F{0, 1, 0, 0, 0, 2, 0, 0, 0});
  CHECK(diag(v, -1).to_vector<float>() == F{0, 0, 0, 1, 0, 0, 0, 2, 0});
  Tensor m = iota_f({3, 4});  // rows 0..3, 4..7, 8..11
  CHECK(diag(m).to_vector<float>() == F{0, 5, 10});
  CHECK(diag(m, 2).to_vector<float>() == F{2, 7});
  CHECK(diag(m, -1).to_vector<float>() == F{4, 9});
  CHECK(diag(m, 5).numel() == 0);
  CHECK(diag(m.t()).to_vector<float>() == F{0, 5, 10});
  CHECK_THROWS_AS(diag(zeros({2, 2, 2})), ShapeError);
}

TEST_CASE("repeat tiles and adds leading dims; zero repeats give an empty tensor") {
  Tensor x = tensor<float>({1, 2});
  Tensor r = repeat(x, {2, 2});
  CHECK(r.shape() == Shape{2, 4});
  CHECK(r.to_vector<float>() == F{1, 2, 1, 2, 1, 2, 1, 2});
  Tensor m = tensor<float>({1, 2, 3, 4}, {2, 2});
  CHECK(repeat(m, {2, 1}).to_vector<float>() == F{1, 2, 3, 4, 1, 2, 3, 4});
  CHECK(repeat(m, {1, 1}).storage() != m.storage());
  CHECK(repeat(m, {0, 3}).shape() == Shape{0, 6});
  CHECK_THROWS_AS(repeat(m, {2}), ShapeError);
}

TEST_CASE("flip reverses the named dims, negative dims included") {
  Tensor x = iota_f({2, 3});
  CHECK(flip(x, {1}).to_vector<float>() == F{2, 1, 0, 5, 4, 3});
  CHECK(flip(x, {0, -1}).to_vector<float>() == F{5, 4, 3, 2, 1, 0});
  CHECK(flip(x.t(), {0}).to_vector<float>() == F{2, 5, 1, 4, 0, 3});
  CHECK_THROWS(flip(x, {1, -1}));
}

TEST_CASE("roll shifts with wrap-around for positive, negative and large shifts") {
  Tensor x = iota_f({5});
  CHECK(roll(x, 2, 0).to_vector<float>() == F{3, 4, 0, 1, 2});
  CHECK(roll(x, -1, 0).to_vector<float>() == F{1, 2, 3, 4, 0});
  CHECK(roll(x, 7, 0).to_vector<float>() == F{3, 4, 0, 1, 2});
  Tensor m = iota_f({2, 3});
  CHECK(roll(m, 1, -1).to_vector<float>() == F{2, 0, 1, 5, 3, 4});
  CHECK(roll(m, 1, 0).to_vector<float>() == F{3, 4, 5, 0, 1, 2});
}

TEST_CASE("pad follows F.pad order; negative pads crop") {
  Tensor x = tensor<float>({1, 2, 3, 4}, {2, 2});
  Tensor p = pad(x, {1, 0}, 9.0);  // last dim: 1 before, 0 after
  CHECK(p.shape() == Shape{2, 3});
  CHECK(p.to_vector<float>() == F{9, 1, 2, 9, 3, 4});
  Tensor q = pad(x, {0, 1, 1, 0});  // last dim +1 after, first dim +1 before
  CHECK(q.shape() == Shape{3, 3});
  CHECK(q.to_vector<float>() == F{0, 0, 0, 1, 2, 0, 3, 4, 0});
  Tensor c = pad(iota_f({3, 4}), {-1, 1, 0, -2}, -1.0);
  CHECK(c.shape() == Shape{1, 4});
  CHECK(c.to_vector<float>() == F{1, 2, 3, -1});
  CHECK(pad(tensor<std::int64_t>({5}, {1}), {2, 0}, 7.0).to_vector<std::int64_t>() == L{7, 7, 5});
  CHECK_THROWS_AS(pad(x, {1}), ShapeError);
  CHECK_THROWS_AS(pad(x, {-2, -1}), ShapeError);
}

TEST_CASE("shape errors are ShapeErrors whose message starts with the op name") {
  const auto starts_with_op = [](const std::function<void()>& f, const std::string& op) {
    try {
      f();
    } catch (const ShapeError& e) {
      return std::string(e.what()).rfind("[" + op + "]", 0) == 0;
    }
    return false;
  };
  Tensor m = zeros({2, 3});
  CHECK(starts_with_op([&] { cat({m, zeros({3, 3})}, 1); }, "cat"));
  CHECK(starts_with_op([&] { stack({m, zeros({3, 2})}); }, "stack"));
  CHECK(starts_with_op([&] { split_with_sizes(m, {1, 1}, 1); }, "split_with_sizes"));
  CHECK(starts_with_op([&] { split(zeros({}), 1); }, "split"));
  CHECK(starts_with_op([&] { chunk(zeros({}), 2); }, "chunk"));
  CHECK(starts_with_op([&] { triu(zeros({4})); }, "triu"));
  CHECK(starts_with_op([&] { diag(zeros({})); }, "diag"));
  CHECK(starts_with_op([&] { repeat(m, {1, -1}); }, "repeat"));
  CHECK(starts_with_op([&] { pad(m, {1, 1, 1, 1, 1, 1}); }, "pad"));
}
