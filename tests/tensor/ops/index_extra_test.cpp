// masked_select, nonzero, topk and sort: values worked out by hand, ordering rules (stability,
// NaN), edge cases, errors, and gradchecks.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "autograd/gradcheck.h"
#include "tensor/ops.h"

using namespace peftcpp;

namespace {
using F = std::vector<float>;
using L = std::vector<std::int64_t>;
}  // namespace

TEST_CASE("masked_select broadcasts the mask and returns elements in row-major order") {
  Tensor x = tensor<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor row_mask = tensor<bool>({true, false, true}, {3});
  CHECK(masked_select(x, row_mask).to_vector<float>() == F{1, 3, 4, 6});
  Tensor col_mask = tensor<bool>({false, true}, {2, 1});
  CHECK(masked_select(x.t().contiguous().t(), col_mask).to_vector<float>() == F{4, 5, 6});
  CHECK(masked_select(x, tensor<bool>({false}, {1})).shape() == Shape{0});
  CHECK_THROWS_AS(masked_select(x, tensor<std::int64_t>({1, 0, 1})), DTypeError);
  CHECK_THROWS_AS(masked_select(x, tensor<bool>({true, false})), ShapeError);
}

TEST_CASE("masked_select backward scatters into the selected positions and sums over broadcast") {
  Tensor x = tensor<double>({1, 2, 3}).requires_grad_();
  Tensor mask = tensor<bool>({true, false, true, false, false, true}, {2, 3});
  Tensor w = tensor<double>({10, 20, 30});
  sum(mul(masked_select(x, mask), w)).backward();  // picks x0, x2 (row 0) and x2 (row 1)
  CHECK(x.grad().to_vector<double>() == std::vector<double>{10, 0, 50});
  Generator g(3);
  Tensor y = randn({2, 3}, kFloat64, &g).requires_grad_();
  const auto r = gradcheck([&](const TensorList& in) { return masked_select(in[0], mask); }, {y});
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("nonzero lists coordinates row-major as [n, ndim] int64") {
  Tensor x = tensor<float>({0, 1, 0, 2, 0, 3}, {2, 3});
  Tensor nz = nonzero(x);
  CHECK(nz.dtype() == kInt64);
  CHECK(nz.shape() == Shape{3, 2});
  CHECK(nz.to_vector<std::int64_t>() == L{0, 1, 1, 0, 1, 2});
  CHECK(nonzero(x.t()).to_vector<std::int64_t>() == L{0, 1, 1, 0, 2, 1});
  CHECK(nonzero(zeros({2, 2})).shape() == Shape{0, 2});
  CHECK(nonzero(tensor<bool>({false, true, true})).to_vector<std::int64_t>() == L{1, 2});
}

TEST_CASE("topk returns sorted largest or smallest values with their indices") {
  Tensor x = tensor<float>({3, 1, 4, 1, 5, 9, 2, 6}, {2, 4});
  auto [v, i] = topk(x, 2);
  CHECK(v.to_vector<float>() == F{4, 3, 9, 6});
  CHECK(i.to_vector<std::int64_t>() == L{2, 0, 1, 3});
  auto [vs, is] = topk(x, 3, -1, false);
  CHECK(vs.to_vector<float>() == F{1, 1, 3, 2, 5, 6});
  CHECK(is.to_vector<std::int64_t>() == L{1, 3, 0, 2, 0, 3});
  auto [v0, i0] = topk(x, 1, 0);  // along dim 0: max of each column
  CHECK(v0.shape() == Shape{1, 4});
  CHECK(v0.to_vector<float>() == F{5, 9, 4, 6});
  CHECK(i0.to_vector<std::int64_t>() == L{1, 1, 0, 1});
  CHECK(topk(x, 0).first.shape() == Shape{2, 0});
  CHECK_THROWS_AS(topk(x, 5), IndexError);
}

TEST_CASE("topk works on integer tensors beyond float precision") {
  const std::int64_t big = (std::int64_t{1} << 53) + 1;
  Tensor x = tensor<std::int64_t>({big - 1, big, 7});
  auto [v, i] = topk(x, 1);
  CHECK(v.to_vector<std::int64_t>() == L{big});
  CHECK(i.to_vector<std::int64_t>() == L{1});
}

TEST_CASE("sort is stable in both directions and puts NaN last ascending, first descending") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor x = tensor<float>({2, nan, 1, 2, 0});
  auto [v, i] = sort(x);
  CHECK(i.to_vector<std::int64_t>() == L{4, 2, 0, 3, 1});
  CHECK(std::isnan(v.to_vector<float>()[4]));
  auto [vd, id] = sort(x, 0, true);
  CHECK(id.to_vector<std::int64_t>() == L{1, 0, 3, 2, 4});
  Tensor m = tensor<float>({3, 1, 2, 0, 5, 4}, {2, 3});
  auto [vm, im] = sort(m.t(), 0);  // columns of m^T are the rows of m
  CHECK(vm.to_vector<float>() == F{1, 0, 2, 4, 3, 5});
  CHECK(im.to_vector<std::int64_t>() == L{1, 0, 2, 2, 0, 1});
}

TEST_CASE("topk and sort backward scatter the gradient to the chosen positions") {
  Tensor x = tensor<double>({3, 1, 4, 1, 5}).requires_grad_();
  Tensor w = tensor<double>({10, 20});
  sum(mul(topk(x, 2).first, w)).backward();  // 5 (index 4) gets 10, 4 (index 2) gets 20
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 0, 20, 0, 10});
  Generator g(5);
  Tensor y = randn({3, 4}, kFloat64, &g).requires_grad_();
  auto r = gradcheck([](const TensorList& in) { return topk(in[0], 2, 0, false).first; }, {y});
  CHECK_MESSAGE(r.ok, r.message);
  r = gradcheck([](const TensorList& in) { return sort(in[0], -1, true).first; }, {y});
  CHECK_MESSAGE(r.ok, r.message);
}
