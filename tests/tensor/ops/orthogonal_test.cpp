// orthogonal_ (torch.nn.init.orthogonal_): orthonormal rows or columns scaled by gain, and the
// sign fix that makes R = Q^T (normal draw) have a positive diagonal.
#include <doctest/doctest.h>

#include "tensor/ops.h"

using namespace peftcpp;

TEST_CASE("orthogonal_ on a tall matrix gives orthonormal columns times gain") {
  Tensor w = empty({6, 3}, kFloat64);
  Generator g(42);
  orthogonal_(w, 2.0, &g);
  CHECK(max_abs_diff(matmul(w.t(), w), mul(eye(3, -1, kFloat64), 4.0)) < 1e-12);
}

TEST_CASE("orthogonal_ on a wide matrix gives orthonormal rows; conv weights are flattened") {
  Tensor w = empty({3, 7}, kFloat32);
  orthogonal_(w);
  CHECK(max_abs_diff(matmul(w, w.t()), eye(3)) < 1e-5);
  Tensor conv = empty({4, 2, 2, 2}, kFloat64);
  Generator g(1);
  orthogonal_(conv, 1.0, &g);
  Tensor flat = conv.reshape({4, 8});
  CHECK(max_abs_diff(matmul(flat, flat.t()), eye(4, -1, kFloat64)) < 1e-12);
}

TEST_CASE("orthogonal_ is Q of the generator's normal draw with sign(diag(R)) made positive") {
  Generator g1(7), g2(7);
  Tensor w = empty({5, 3}, kFloat64);
  orthogonal_(w, 1.0, &g1);
  Tensor draw = randn({5, 3}, kFloat64, &g2);  // the same draw orthogonal_ made
  Tensor r = matmul(w.t(), draw);  // = diag(sign) R: upper triangular, positive diagonal
  CHECK(max_abs_diff(r, triu(r)) < 1e-12);
  for (double d : diag(r).to_vector<double>()) CHECK(d > 0);
  CHECK(max_abs_diff(matmul(w, r), draw) < 1e-12);
}

TEST_CASE(
    "orthogonal_ rejects 1-D tensors, leaves empty ones alone and works under requires_grad") {
  Tensor v = empty({4}, kFloat32);
  CHECK_THROWS_WITH_AS(orthogonal_(v), doctest::Contains("[orthogonal_]"), ShapeError);
  Tensor e = zeros({0, 3});
  CHECK_NOTHROW(orthogonal_(e));
  Tensor p = zeros({2, 2}, kFloat64).requires_grad_();
  orthogonal_(p);
  CHECK(max_abs_diff(matmul(p.detach(), p.detach().t()), eye(2, -1, kFloat64)) < 1e-12);
  CHECK(p.requires_grad());
}
