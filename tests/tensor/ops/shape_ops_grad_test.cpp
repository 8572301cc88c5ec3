// Float64 gradchecks of every differentiable shape op, and backward values worked out by hand.
#include <doctest/doctest.h>

#include "autograd/gradcheck.h"
#include "tensor/ops.h"

using namespace peftcpp;

namespace {
Tensor leaf(const Shape& shape, std::uint64_t seed) {
  Generator g(seed);
  return randn(shape, kFloat64, &g).requires_grad_();
}

void check_grad(const std::function<Tensor(const TensorList&)>& f, const TensorList& in) {
  const GradcheckResult r = gradcheck(f, in);
  CHECK_MESSAGE(r.ok, r.message);
}
}  // namespace

TEST_CASE("cat backward narrows the gradient into each input, through promotion") {
  Tensor a = leaf({2, 3}, 1), b = leaf({2, 1}, 2), c = leaf({2, 2}, 3);
  check_grad([](const TensorList& in) { return cat({in[0], in[1], in[2]}, -1); }, {a, b, c});
  Tensor f = tensor<float>({1, 2}).requires_grad_();
  Tensor d = tensor<double>({3}, {1}).requires_grad_();
  Tensor w = tensor<double>({10, 20, 30});
  sum(mul(cat({f, d}), w)).backward();
  CHECK(f.grad().dtype() == kFloat32);
  CHECK(f.grad().to_vector<float>() == std::vector<float>{10, 20});
  CHECK(d.grad().to_vector<double>() == std::vector<double>{30});
}

TEST_CASE("stack and split / chunk pieces are differentiable") {
  Tensor a = leaf({3}, 4), b = leaf({3}, 5);
  check_grad([](const TensorList& in) { return stack({in[0], in[1]}, 1); }, {a, b});
  Tensor x = leaf({5, 2}, 6);
  check_grad(
      [](const TensorList& in) {
        TensorList p = split(in[0], 2, 0);
        return cat({mul(p[0], 2.0), p[2], p[1]}, 0);
      },
      {x});
  check_grad(
      [](const TensorList& in) {
        TensorList p = chunk(in[0], 2, 1);
        return mul(p[0], p[1]);
      },
      {x});
}

TEST_CASE("tril and triu backward applies the same mask") {
  Tensor x = leaf({2, 3, 4}, 7);
  check_grad([](const TensorList& in) { return tril(in[0], 1); }, {x});
  check_grad([](const TensorList& in) { return triu(in[0], -1); }, {x});
  Tensor y = ones({2, 2}, kFloat64).requires_grad_();
  sum(triu(y)).backward();
  CHECK(y.grad().to_vector<double>() == std::vector<double>{1, 1, 0, 1});
}

TEST_CASE("diag backward in both directions") {
  Tensor v = leaf({3}, 8);
  check_grad([](const TensorList& in) { return diag(in[0], 1); }, {v});
  check_grad([](const TensorList& in) { return diag(in[0], -2); }, {v});
  Tensor m = leaf({3, 4}, 9);
  check_grad([](const TensorList& in) { return diag(in[0], 1); }, {m});
  check_grad([](const TensorList& in) { return diag(in[0].t(), -1); }, {m});
}

TEST_CASE("repeat backward sums over the tiles") {
  Tensor x = leaf({2, 3}, 10);
  check_grad([](const TensorList& in) { return repeat(in[0], {2, 1, 3}); }, {x});
  Tensor y = tensor<double>({1, 2}).requires_grad_();
  Tensor w = tensor<double>({1, 2, 3, 4, 5, 6}, {3, 2});
  sum(mul(repeat(y, {3, 1}), w)).backward();  // each y_j collects its column of w
  CHECK(y.grad().to_vector<double>() == std::vector<double>{9, 12});
}

TEST_CASE("flip, roll and pad backward") {
  Tensor x = leaf({3, 4}, 11);
  check_grad([](const TensorList& in) { return flip(in[0], {0, 1}); }, {x});
  check_grad([](const TensorList& in) { return roll(in[0], -5, 1); }, {x});
  check_grad([](const TensorList& in) { return pad(in[0], {2, -1, -1, 3}, 4.0); }, {x});
  Tensor y = tensor<double>({1, 2, 3}).requires_grad_();
  Tensor w = tensor<double>({10, 20, 30});
  sum(mul(roll(y, 1, 0), w)).backward();  // roll(y) = [y2, y0, y1]
  CHECK(y.grad().to_vector<double>() == std::vector<double>{20, 30, 10});
}
