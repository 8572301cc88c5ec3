// Float64 gradcheck of every differentiable op in tensor/ops/reduce.h.
#include <doctest/doctest.h>

#include <cmath>

#include "gradcheck_helpers.h"

using namespace peftcpp;
using namespace peftcpp::testing;

TEST_CASE("gradcheck: sum and mean over every dims pattern") {
  Tensor a = gc_randn({2, 3, 4}, 61);
  const std::vector<Dims> patterns = {{}, {0}, {1}, {-1}, {0, 2}, {0, 1, 2}};
  for (const Dims& d : patterns) {
    for (bool keep : {false, true}) {
      expect_gradcheck("sum", [d, keep](const TensorList& x) { return sum(x[0], d, keep); }, {a});
      expect_gradcheck("mean", [d, keep](const TensorList& x) { return mean(x[0], d, keep); }, {a});
    }
  }
  expect_gradcheck("sum of 0-d", [](const TensorList& x) { return sum(x[0]); }, {gc_randn({}, 62)});
  expect_gradcheck(
      "sum of transposed",
      [](const TensorList& x) { return sum(x[0].t(), {1}); },
      {gc_randn({3, 5}, 63)});
}

TEST_CASE("gradcheck: prod with no zeros, one zero and two zeros") {
  expect_gradcheck(
      "prod",
      [](const TensorList& x) { return prod(x[0], {1}); },
      {gc_uniform({3, 4}, 0.5, 1.5, 71)});
  expect_gradcheck(
      "prod all keepdim",
      [](const TensorList& x) { return prod(x[0], {}, true); },
      {gc_uniform({2, 3}, -1.5, -0.5, 72)});
  Tensor one_zero = tensor<double>({0.0, 2.0, 3.0, 1.5, 0.5, 2.0}, {2, 3}).requires_grad_();
  expect_gradcheck(
      "prod one zero", [](const TensorList& x) { return prod(x[0], {1}); }, {one_zero});
  Tensor two_zeros = tensor<double>({0.0, 2.0, 0.0, 1.5, 0.5, 2.0}, {2, 3}).requires_grad_();
  expect_gradcheck(
      "prod two zeros", [](const TensorList& x) { return prod(x[0], {1}); }, {two_zeros});
  expect_gradcheck(
      "prod two zeros all", [](const TensorList& x) { return prod(x[0]); }, {two_zeros});
}

TEST_CASE("gradcheck: amax, amin, max, min (distinct values)") {
  Tensor a = gc_randn({3, 4}, 81);
  for (bool keep : {false, true}) {
    expect_gradcheck("amax", [keep](const TensorList& x) { return amax(x[0], {1}, keep); }, {a});
    expect_gradcheck("amin", [keep](const TensorList& x) { return amin(x[0], {0}, keep); }, {a});
    expect_gradcheck(
        "max values", [keep](const TensorList& x) { return max(x[0], 0, keep).first; }, {a});
    expect_gradcheck(
        "min values", [keep](const TensorList& x) { return min(x[0], -1, keep).first; }, {a});
  }
  expect_gradcheck("amax all", [](const TensorList& x) { return amax(x[0]); }, {a});
  expect_gradcheck(
      "max of 0-d", [](const TensorList& x) { return max(x[0], 0).first; }, {gc_randn({}, 82)});
}

TEST_CASE("amax gradient is shared evenly between ties, as PyTorch") {
  Tensor x = tensor<double>({1, 3, 3, 2}).requires_grad_();
  amax(x).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 0.5, 0.5, 0});
}

TEST_CASE("gradcheck: var, std, norm, logsumexp") {
  Tensor a = gc_randn({3, 5}, 91);
  for (double corr : {0.0, 1.0}) {
    expect_gradcheck("var", [corr](const TensorList& x) { return var(x[0], {1}, corr); }, {a});
    expect_gradcheck(
        "var all", [corr](const TensorList& x) { return var(x[0], {}, corr, true); }, {a});
    expect_gradcheck(
        "std", [corr](const TensorList& x) { return peftcpp::std(x[0], {0}, corr); }, {a});
  }
  Tensor nz = gc_away_from({3, 5}, -2.0, 2.0, {0.0}, 0.1, 92);
  for (double p : {1.0, 2.0, 3.0, 1.5}) {
    expect_gradcheck(
        "norm p=" + std::to_string(p),
        [p](const TensorList& x) { return norm(x[0], p, {1}); },
        {nz});
  }
  expect_gradcheck(
      "norm inf", [](const TensorList& x) { return norm(x[0], INFINITY, {1}, true); }, {nz});
  expect_gradcheck("norm frobenius", [](const TensorList& x) { return norm(x[0]); }, {a});
  expect_gradcheck("logsumexp", [](const TensorList& x) { return logsumexp(x[0], {1}); }, {a});
  expect_gradcheck(
      "logsumexp keepdim",
      [](const TensorList& x) {
        return logsumexp(x[0], {0, 1}, true);
      },
      {a});
}

TEST_CASE("norm gradient at the zero vector is zero, not NaN") {
  Tensor z = zeros({3}, kFloat64).requires_grad_();
  norm(z).backward();
  CHECK(z.grad().to_vector<double>() == std::vector<double>{0, 0, 0});
}

TEST_CASE("gradcheck: cumsum, softmax, log_softmax along each dim") {
  Tensor a = gc_randn({3, 4}, 101);
  for (std::int64_t d : {0, 1, -1}) {
    expect_gradcheck("cumsum", [d](const TensorList& x) { return cumsum(x[0], d); }, {a});
    expect_gradcheck("softmax", [d](const TensorList& x) { return softmax(x[0], d); }, {a});
    expect_gradcheck("log_softmax", [d](const TensorList& x) { return log_softmax(x[0], d); }, {a});
  }
  Tensor b = gc_randn({2, 3, 4}, 102);
  expect_gradcheck("softmax middle dim", [](const TensorList& x) { return softmax(x[0], 1); }, {b});
  expect_gradcheck(
      "log_softmax of a transposed input",
      [](const TensorList& x) { return log_softmax(x[0].t(), -1); },
      {a});
}
