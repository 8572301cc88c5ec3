// Float64 gradcheck of matmul.h and of index_select / gather / scatter / scatter_add / index_add.
#include <doctest/doctest.h>

#include "gradcheck_helpers.h"

using namespace peftcpp;
using namespace peftcpp::testing;

TEST_CASE("gradcheck: matmul in every rank combination") {
  auto mm_f = [](const TensorList& x) { return matmul(x[0], x[1]); };
  expect_gradcheck("vec @ vec", mm_f, {gc_randn({4}, 1), gc_randn({4}, 2)});
  expect_gradcheck("vec @ mat", mm_f, {gc_randn({4}, 3), gc_randn({4, 3}, 4)});
  expect_gradcheck("mat @ vec", mm_f, {gc_randn({2, 4}, 5), gc_randn({4}, 6)});
  expect_gradcheck("mat @ mat", mm_f, {gc_randn({2, 4}, 7), gc_randn({4, 3}, 8)});
  expect_gradcheck("batched @ mat", mm_f, {gc_randn({2, 3, 4}, 9), gc_randn({4, 2}, 10)});
  expect_gradcheck("mat @ batched", mm_f, {gc_randn({3, 4}, 11), gc_randn({2, 4, 2}, 12)});
  expect_gradcheck(
      "broadcast batches", mm_f, {gc_randn({2, 1, 3, 4}, 13), gc_randn({3, 4, 2}, 14)});
  expect_gradcheck("vec @ batched", mm_f, {gc_randn({4}, 15), gc_randn({2, 4, 3}, 16)});
  expect_gradcheck(
      "transposed operands",
      [](const TensorList& x) { return matmul(x[0].t(), x[1].t()); },
      {gc_randn({4, 2}, 17), gc_randn({3, 4}, 18)});
  expect_gradcheck(
      "mm",
      [](const TensorList& x) { return mm(x[0], x[1]); },
      {gc_randn({3, 2}, 19), gc_randn({2, 5}, 20)});
  expect_gradcheck(
      "bmm",
      [](const TensorList& x) { return bmm(x[0], x[1]); },
      {gc_randn({2, 3, 4}, 21), gc_randn({2, 4, 2}, 22)});
  expect_gradcheck(
      "bmm transposed",
      [](const TensorList& x) { return bmm(x[0].mT(), x[1]); },
      {gc_randn({2, 4, 3}, 23), gc_randn({2, 4, 2}, 24)});
  expect_gradcheck(
      "linear",
      [](const TensorList& x) { return linear(x[0], x[1], x[2]); },
      {gc_randn({2, 3, 4}, 25), gc_randn({5, 4}, 26), gc_randn({5}, 27)});
  expect_gradcheck(
      "linear no bias",
      [](const TensorList& x) { return linear(x[0], x[1]); },
      {gc_randn({3, 4}, 28), gc_randn({2, 4}, 29)});
  expect_gradcheck(
      "outer",
      [](const TensorList& x) { return outer(x[0], x[1]); },
      {gc_randn({3}, 30), gc_randn({2}, 31)});
  expect_gradcheck(
      "kron",
      [](const TensorList& x) { return kron(x[0], x[1]); },
      {gc_randn({2, 3}, 32), gc_randn({2, 2}, 33)});
  expect_gradcheck(
      "kron of different ranks",
      [](const TensorList& x) { return kron(x[0], x[1]); },
      {gc_randn({3}, 34), gc_randn({2, 2}, 35)});
}

TEST_CASE("gradcheck: index_select, gather, scatter, scatter_add, index_add") {
  Tensor a = gc_randn({4, 3}, 41);
  Tensor idx = tensor<std::int64_t>({2, 0, 2});  // repeated index: gradients must add
  expect_gradcheck(
      "index_select dim 0", [idx](const TensorList& x) { return index_select(x[0], 0, idx); }, {a});
  expect_gradcheck(
      "index_select dim 1", [idx](const TensorList& x) { return index_select(x[0], 1, idx); }, {a});
  Tensor gidx = tensor<std::int64_t>({0, 2, 1, 1, 0, 0, 2, 2}, {4, 2});
  expect_gradcheck("gather", [gidx](const TensorList& x) { return gather(x[0], 1, gidx); }, {a});
  Tensor gidx0 = tensor<std::int64_t>({3, 0, 1, 1, 2, 0}, {2, 3});
  expect_gradcheck(
      "gather dim 0", [gidx0](const TensorList& x) { return gather(x[0], 0, gidx0); }, {a});
  // scatter with distinct targets (duplicates make the overwritten gradient ambiguous)
  Tensor sidx = tensor<std::int64_t>({1, 0, 2, 1}, {2, 2});
  Tensor src = gc_randn({2, 3}, 42);
  expect_gradcheck(
      "scatter", [sidx](const TensorList& x) { return scatter(x[0], 1, sidx, x[1]); }, {a, src});
  Tensor didx = tensor<std::int64_t>({1, 1, 0, 1}, {2, 2});  // duplicates accumulate
  expect_gradcheck(
      "scatter_add",
      [didx](const TensorList& x) { return scatter_add(x[0], 1, didx, x[1]); },
      {a, src});
  Tensor rows = tensor<std::int64_t>({3, 1, 3});
  Tensor source = gc_randn({3, 3}, 43);
  expect_gradcheck(
      "index_add",
      [rows](const TensorList& x) { return index_add(x[0], 0, rows, x[1], 0.5); },
      {a, source});
}

TEST_CASE("index ops check dims, dtypes and bounds with clear messages") {
  Tensor a = zeros({4, 3});
  CHECK_THROWS_AS(index_select(a, 0, tensor<std::int64_t>({4})), IndexError);
  CHECK_THROWS_AS(index_select(a, 0, tensor<float>({1})), DTypeError);
  CHECK_THROWS_AS(gather(a, 1, tensor<std::int64_t>({0, 1})), ShapeError);
  CHECK_THROWS_AS(index_add(a, 0, tensor<std::int64_t>({0}, {1}), zeros({2, 3})), ShapeError);
}
