// Views share storage and compute shape/strides/offset like PyTorch; errors name the op and
// shapes.
#include <doctest/doctest.h>

#include "tensor/ops.h"
#include "test_helpers.h"

using namespace peftcpp;
using peftcpp::testing::values;

namespace {
// 0..n-1 as float32 with the given shape.
Tensor iota(const Shape& shape) {
  return arange(0.0, static_cast<double>(shape_numel(shape)), 1.0, kFloat32).reshape(shape);
}
}  // namespace

TEST_CASE("view and reshape keep row-major order and infer one -1 dim") {
  Tensor x = iota({2, 3, 4});
  Tensor v = x.view({6, -1});
  CHECK(v.shape() == Shape{6, 4});
  CHECK(v.strides() == Strides{4, 1});
  CHECK(v.storage() == x.storage());
  CHECK(values(v) == values(x));
  CHECK(x.reshape({-1}).shape() == Shape{24});
  CHECK(x.view({4, 3, 2}).strides() == Strides{6, 2, 1});
  // 0-d <-> 1-element
  Tensor s = scalar_tensor(5.0);
  CHECK(s.view({1, 1}).shape() == Shape{1, 1});
  CHECK(s.view({1}).view({}).dim() == 0);
}

TEST_CASE("view of a non-contiguous tensor: allowed when dims stay separable, else an error") {
  Tensor x = iota({4, 6});
  Tensor t = x.t();  // [6, 4] strides [1, 6]
  CHECK_THROWS_WITH_PARTS(ShapeError, t.view({24}), "[view]", "[24]", "[6, 4]", "reshape");
  // splitting a transposed dim is fine
  Tensor u = t.view({2, 3, 4});
  CHECK(u.strides() == Strides{3, 1, 6});
  CHECK(values(u) == values(t));
  // reshape copies when it must
  Tensor r = t.reshape({24});
  CHECK(r.storage() != x.storage());
  CHECK(values(r) == values(t.contiguous()));
  // a sliced tensor whose rows are contiguous can merge its leading dims
  Tensor sl = iota({4, 3, 8}).narrow(2, 0, 4);  // [4, 3, 4] strides [24, 8, 1]
  CHECK(sl.view({12, 4}).strides() == Strides{8, 1});
}

TEST_CASE("view and reshape errors name the shapes") {
  Tensor x = iota({2, 3});
  CHECK_THROWS_WITH_PARTS(ShapeError, x.view({4, 2}), "[view]", "[2, 3]", "6 elements", "[4, 2]");
  CHECK_THROWS_WITH_PARTS(ShapeError, x.reshape({-1, -1}), "[reshape]", "only one dimension");
  CHECK_THROWS_WITH_PARTS(ShapeError, x.reshape({-1, 4}), "[reshape]", "[2, 3]");
  CHECK_THROWS_WITH_PARTS(ShapeError, x.view({-2, 3}), "[view]", "invalid dimension -2");
  // -1 next to a zero dim cannot be inferred
  CHECK_THROWS_AS(zeros({0, 3}).view({0, -1}), ShapeError);
}

TEST_CASE("permute, transpose, t and mT reorder shapes and strides") {
  Tensor x = iota({2, 3, 4});
  Tensor p = x.permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.strides() == Strides{1, 12, 4});
  CHECK_FALSE(p.is_contiguous());
  // element [k, i, j] of p is x[i, j, k] = 12 i + 4 j + k
  CHECK(p.select(0, 1).select(0, 1).select(0, 2).item<float>() == 12 + 8 + 1);
  CHECK(x.permute({-1, -3, -2}).shape() == Shape{4, 2, 3});
  CHECK(x.transpose(0, 2).shape() == Shape{4, 3, 2});
  CHECK(x.mT().shape() == Shape{2, 4, 3});
  CHECK(values(iota({2, 3}).t()) == std::vector<double>{0, 3, 1, 4, 2, 5});
  CHECK(iota({3}).t().shape() == Shape{3});
  CHECK_THROWS_WITH_PARTS(ShapeError, x.t(), "[t]", "[2, 3, 4]");
  CHECK_THROWS_WITH_PARTS(ShapeError, iota({3}).mT(), "[mT]", "[3]");
  CHECK_THROWS_WITH_PARTS(ShapeError, x.permute({0, 1}), "[permute]", "2 dims", "3 dims");
  CHECK_THROWS_WITH_PARTS(IndexError, x.permute({0, 1, 1}), "[permute]", "repeated dim 1");
  CHECK_THROWS_WITH_PARTS(IndexError, x.permute({0, 1, 3}), "[permute]", "dimension 3");
  CHECK_THROWS_WITH_PARTS(IndexError, x.transpose(0, 5), "[transpose]", "5");
}

TEST_CASE("slice: negative bounds, clamping, steps") {
  Tensor x = iota({10});
  CHECK(values(x.slice(0, 2, 8, 3)) == std::vector<double>{2, 5});
  CHECK(values(x.slice(0, -3, 10)) == std::vector<double>{7, 8, 9});
  CHECK(values(x.slice(0, 0, -7)) == std::vector<double>{0, 1, 2});
  CHECK(values(x.slice(0, 8, 100)) == std::vector<double>{8, 9});
  CHECK(values(x.slice(0, -100, 2)) == std::vector<double>{0, 1});
  CHECK(x.slice(0, 7, 3).numel() == 0);
  CHECK(x.slice(0, 0, 10, 4).shape() == Shape{3});
  Tensor m = iota({4, 6});
  Tensor s = m.slice(1, 1, 6, 2);  // columns 1, 3, 5
  CHECK(s.shape() == Shape{4, 3});
  CHECK(s.strides() == Strides{6, 2});
  CHECK(s.storage_offset() == 1);
  CHECK(values(s.select(0, 2)) == std::vector<double>{13, 15, 17});
  CHECK_THROWS_WITH_PARTS(ValueError, x.slice(0, 0, 5, 0), "[slice]", "step", "0");
  CHECK_THROWS_WITH_PARTS(ValueError, x.slice(0, 0, 5, -1), "[slice]", "step");
  CHECK_THROWS_WITH_PARTS(ShapeError, scalar_tensor(1).slice(0, 0, 1), "[slice]", "0-d");
  CHECK_THROWS_WITH_PARTS(IndexError, m.slice(2, 0, 1), "[slice]", "dimension 2");
}

TEST_CASE("narrow and select check their bounds") {
  Tensor m = iota({3, 4});
  CHECK(values(m.narrow(1, 1, 2)) == std::vector<double>{1, 2, 5, 6, 9, 10});
  CHECK(values(m.narrow(0, -1, 1)) == std::vector<double>{8, 9, 10, 11});
  CHECK(m.narrow(0, 3, 0).shape() == Shape{0, 4});
  CHECK_THROWS_WITH_PARTS(IndexError, m.narrow(1, 2, 3), "[narrow]", "[2, 5)", "size 4");
  CHECK_THROWS_WITH_PARTS(IndexError, m.narrow(1, 0, -1), "[narrow]");
  CHECK(values(m.select(1, -1)) == std::vector<double>{3, 7, 11});
  CHECK(values(m[1]) == std::vector<double>{4, 5, 6, 7});
  CHECK(m[2][3].dim() == 0);
  CHECK(m[2][3].item<float>() == 11);
  CHECK_THROWS_WITH_PARTS(IndexError, m.select(0, 3), "[select]", "index 3", "size 3");
  CHECK_THROWS_WITH_PARTS(IndexError, m.select(0, -4), "[select]", "index -4");
  CHECK_THROWS_WITH_PARTS(ShapeError, scalar_tensor(1).select(0, 0), "[select]", "0-d");
}

TEST_CASE("expand broadcasts size-1 and new leading dims with stride 0") {
  Tensor c = iota({3, 1});
  Tensor e = c.expand({2, 3, 4});
  CHECK(e.shape() == Shape{2, 3, 4});
  CHECK(e.strides() == Strides{0, 1, 0});
  CHECK(values(e.select(0, 1).select(0, 2)) == std::vector<double>{2, 2, 2, 2});
  CHECK(c.expand({-1, 5}).shape() == Shape{3, 5});
  CHECK(c.expand({3, 1}).is_same(c));
  CHECK(scalar_tensor(7).expand({2, 2}).strides() == Strides{0, 0});
  CHECK(c.expand({3, 0}).numel() == 0);
  CHECK(c.expand_as(zeros({2, 3, 6})).shape() == Shape{2, 3, 6});
  CHECK_THROWS_WITH_PARTS(ShapeError, c.expand({4, 4}), "[expand]", "[3, 1]", "[4, 4]", "3 -> 4");
  CHECK_THROWS_WITH_PARTS(ShapeError, c.expand({3}), "[expand]", "fewer dims");
  CHECK_THROWS_WITH_PARTS(ShapeError, c.expand({-1, 3, 1}), "[expand]", "-1");
}

TEST_CASE("squeeze, unsqueeze, flatten and unflatten") {
  Tensor x = iota({1, 3, 1, 2});
  CHECK(x.squeeze().shape() == Shape{3, 2});
  CHECK(x.squeeze(2).shape() == Shape{1, 3, 2});
  CHECK(x.squeeze(1).shape() == Shape{1, 3, 1, 2});  // not size 1: unchanged
  CHECK(x.squeeze(-4).shape() == Shape{3, 1, 2});
  CHECK(scalar_tensor(1).squeeze().dim() == 0);
  Tensor y = iota({3, 2});
  CHECK(y.unsqueeze(0).shape() == Shape{1, 3, 2});
  CHECK(y.unsqueeze(-1).shape() == Shape{3, 2, 1});
  CHECK(y.unsqueeze(1).strides() == Strides{2, 2, 1});
  CHECK(scalar_tensor(1).unsqueeze(0).shape() == Shape{1});
  CHECK_THROWS_WITH_PARTS(IndexError, y.unsqueeze(3), "[unsqueeze]", "3");
  Tensor z = iota({2, 3, 4, 5});
  CHECK(z.flatten().shape() == Shape{120});
  CHECK(z.flatten(1, 2).shape() == Shape{2, 12, 5});
  CHECK(z.flatten(-2).shape() == Shape{2, 3, 20});
  CHECK(scalar_tensor(1).flatten().shape() == Shape{1});
  CHECK_THROWS_WITH_PARTS(IndexError, z.flatten(2, 1), "[flatten]", "start_dim 2", "end_dim 1");
  CHECK(z.unflatten(1, {3, 1}).shape() == Shape{2, 3, 1, 4, 5});
  CHECK(z.unflatten(-1, {-1, 5}).shape() == Shape{2, 3, 4, 1, 5});
  CHECK_THROWS_AS(z.unflatten(1, {2, 2}), ShapeError);
  // flatten of a transposed tensor has to copy, and keeps the logical order
  Tensor t = iota({2, 3}).t();
  CHECK(values(t.flatten()) == std::vector<double>{0, 3, 1, 4, 2, 5});
}

TEST_CASE("as_strided reads any window of the storage and checks its bounds") {
  Tensor x = iota({10});
  Tensor w = x.as_strided({3, 3}, {1, 1}, 2);  // sliding windows
  CHECK(values(w) == std::vector<double>{2, 3, 4, 3, 4, 5, 4, 5, 6});
  CHECK_THROWS_WITH_PARTS(IndexError, x.as_strided({3}, {4}, 2), "[as_strided]", "10");
  CHECK_THROWS_WITH_PARTS(ShapeError, x.as_strided({3}, {1, 1}, 0), "[as_strided]");
  CHECK_THROWS_AS(x.as_strided({2}, {-1}, 5), ShapeError);
  Tensor g = iota({4}).requires_grad_();
  CHECK_THROWS_WITH_PARTS(
      ValueError, g.as_strided({2}, {1}, 0), "[as_strided]", "not differentiable");
}

TEST_CASE("view_as_dtype reinterprets bits of the same width") {
  Tensor x = tensor<float>({1.0f, -2.0f});
  Tensor i = x.view_as_dtype(kInt32);
  CHECK(
      i.to_vector<std::int32_t>() ==
      std::vector<std::int32_t>{0x3f800000, static_cast<std::int32_t>(0xc0000000u)});
  CHECK(i.storage() == x.storage());
  CHECK_THROWS_WITH_PARTS(
      DTypeError, x.view_as_dtype(kInt64), "[view_as_dtype]", "float32", "int64");
}

TEST_CASE("writes through a view are seen by the base, and contiguous() copies only when needed") {
  Tensor x = zeros({3, 4});
  x.select(1, 2).fill_(5.0);
  x.slice(0, 0, 3, 2).narrow(1, 0, 1).fill_(-1.0);
  CHECK(values(x) == std::vector<double>{-1, 0, 5, 0, 0, 0, 5, 0, -1, 0, 5, 0});
  CHECK(x.contiguous().is_same(x));
  Tensor t = x.t();
  Tensor c = t.contiguous();
  CHECK_FALSE(c.is_same(t));
  CHECK(c.is_contiguous());
  CHECK(values(c) == values(t));
  // size-1 dims do not break contiguity whatever their stride
  Tensor odd = x.as_strided({3, 1, 4}, {4, 99, 1}, 0);
  CHECK(odd.is_contiguous());
  // copy_ broadcasts the source
  Tensor y = zeros({2, 3});
  y.copy_(tensor<float>({1, 2, 3}));
  CHECK(values(y) == std::vector<double>{1, 2, 3, 1, 2, 3});
  y.t().copy_(tensor<double>({9, 8}, {2}).unsqueeze(0).expand({3, 2}));
  CHECK(values(y) == std::vector<double>{9, 9, 9, 8, 8, 8});
}

TEST_CASE("metadata accessors handle negative dims and report errors") {
  Tensor x = iota({2, 3, 4});
  CHECK(x.size(-1) == 4);
  CHECK(x.stride(-3) == 12);
  CHECK(x.numel() == 24);
  CHECK(x.nbytes() == 96);
  CHECK(x.dim() == 3);
  CHECK_THROWS_WITH_PARTS(IndexError, x.size(3), "[size]", "dimension 3", "3 dims");
  CHECK(scalar_tensor(2).numel() == 1);
  CHECK(zeros({3, 0}).numel() == 0);
  Tensor u;
  CHECK_FALSE(u.defined());
  CHECK_THROWS_WITH_PARTS(ValueError, u.shape(), "[shape]", "undefined");
}
