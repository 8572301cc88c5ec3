// operator<< / to_string: the documented PyTorch-like format.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include "tensor/ops.h"

using namespace peftcpp;

TEST_CASE("1-D, 0-d, integer and bool tensors print values, shape and dtype") {
  CHECK(
      to_string(tensor<float>({1.0f, 2.5f})) ==
      "tensor([1.0000, 2.5000], shape=[2], dtype=float32)");
  CHECK(to_string(scalar_tensor(3.0)) == "tensor(3.0000, shape=[], dtype=float32)");
  CHECK(to_string(tensor<std::int64_t>({1, -2})) == "tensor([1, -2], shape=[2], dtype=int64)");
  CHECK(to_string(tensor<bool>({true, false})) == "tensor([True, False], shape=[2], dtype=bool)");
  CHECK(
      to_string(tensor<float>({-0.12345f}, {1}).to(kBFloat16)) ==
      "tensor([-0.1235], shape=[1], dtype=bfloat16)");
  CHECK(to_string(zeros({0})) == "tensor([], shape=[0], dtype=float32)");
  std::ostringstream os;
  os << tensor<double>({0.5, 2});
  CHECK(os.str() == "tensor([0.5000, 2.0000], shape=[2], dtype=float64)");
}

TEST_CASE("special float values print as nan, inf and -inf") {
  CHECK(
      to_string(tensor<float>({NAN, INFINITY, -INFINITY})) ==
      "tensor([nan, inf, -inf], shape=[3], dtype=float32)");
}

TEST_CASE("matrices print one row per line, aligned under the first bracket") {
  Tensor m = tensor<float>({1, 2, 3, 4}, {2, 2});
  CHECK(
      to_string(m) ==
      "tensor([[1.0000, 2.0000],\n"
      "        [3.0000, 4.0000]], shape=[2, 2], dtype=float32)");
  Tensor c = arange(0.0, 8.0, 1.0, kInt32).reshape({2, 2, 2});
  CHECK(
      to_string(c) ==
      "tensor([[[0, 1],\n"
      "         [2, 3]],\n"
      "        [[4, 5],\n"
      "         [6, 7]]], shape=[2, 2, 2], dtype=int32)");
  // a transposed view prints in logical order
  CHECK(
      to_string(m.t()) ==
      "tensor([[1.0000, 3.0000],\n"
      "        [2.0000, 4.0000]], shape=[2, 2], dtype=float32)");
}

TEST_CASE("tensors with more than 1000 elements are summarised with three edge items") {
  CHECK(
      to_string(arange(2000)) ==
      "tensor([0, 1, 2, ..., 1997, 1998, 1999], shape=[2000], dtype=int64)");
  CHECK(to_string(arange(1000)).find("...") == std::string::npos);
  const std::string s = to_string(arange(0.0, 1001.0 * 2, 1.0, kInt64).reshape({1001, 2}));
  CHECK(
      s ==
      "tensor([[0, 1],\n"
      "        [2, 3],\n"
      "        [4, 5],\n"
      "        ...,\n"
      "        [1996, 1997],\n"
      "        [1998, 1999],\n"
      "        [2000, 2001]], shape=[1001, 2], dtype=int64)");
}

TEST_CASE("requires_grad is shown; undefined tensors print as such") {
  Tensor x = tensor<double>({1.0}, {1}).requires_grad_();
  CHECK(to_string(x) == "tensor([1.0000], shape=[1], dtype=float64, requires_grad=True)");
  CHECK(to_string(mul(x, 2.0)) == "tensor([2.0000], shape=[1], dtype=float64, requires_grad=True)");
  CHECK(to_string(Tensor()) == "tensor(undefined)");
}

// Known issue (tensor/print.cpp, not owned here): values go through double, so int64 beyond
// 2^53 print rounded.
TEST_CASE("int64 values beyond 2^53 print exactly") {
  CHECK(
      to_string(tensor<std::int64_t>({9007199254740993LL}, {1})) ==
      "tensor([9007199254740993], shape=[1], dtype=int64)");
}
