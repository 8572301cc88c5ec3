// Smoke tests of the tensor core and autograd engine: values checked by hand.
#include <doctest/doctest.h>

#include "autograd/gradcheck.h"
#include "tensor/ops.h"

using namespace peftcpp;

TEST_CASE("add broadcasts a row vector over a matrix") {
  Tensor a = tensor<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = tensor<float>({10, 20, 30});
  CHECK(add(a, b).to_vector<float>() == std::vector<float>{11, 22, 33, 14, 25, 36});
}

TEST_CASE("matmul of a transposed view matches hand computation") {
  Tensor a = tensor<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = tensor<float>({1, 0, 1, 0, 1, 1}, {2, 3});
  // a @ b^T = [[1+3, 2+3], [4+6, 5+6]]
  CHECK(matmul(a, b.t()).to_vector<float>() == std::vector<float>{4, 5, 10, 11});
}

TEST_CASE("sum over dim 0 and backward of mean") {
  Tensor a = tensor<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(sum(a, {0}).to_vector<float>() == std::vector<float>{5, 7, 9});
  Tensor x = tensor<double>({1, 2, 3, 4}, {2, 2});
  x.requires_grad_();
  mean(mul(x, x)).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0.5, 1.0, 1.5, 2.0});
}

TEST_CASE("gradcheck of a composite expression with broadcasting and matmul") {
  Tensor w = randn({3, 4}, kFloat64).requires_grad_();
  Tensor x = randn({2, 5, 4}, kFloat64).requires_grad_();
  Tensor b = randn({3}, kFloat64).requires_grad_();
  auto r = gradcheck(
      [](const TensorList& in) { return softmax(tanh(linear(in[0], in[1], in[2])), -1); },
      {x, w, b});
  CHECK_MESSAGE(r.ok, r.message);
}
