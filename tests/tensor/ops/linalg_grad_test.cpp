// Float64 gradchecks of the linear-algebra backward formulas on well-conditioned random inputs.
// Singular vectors and eigenvectors are only defined up to sign, so their checks go through
// sign-invariant functions (reconstructions, projectors, V f(L) V^T), as PyTorch's tests do.
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

Tensor flat_cat(const TensorList& parts) {
  TensorList flat;
  for (const Tensor& p : parts) flat.push_back(p.reshape({-1}));
  return cat(flat);
}

// (X X^T + n I): symmetric positive definite, well conditioned.
Tensor spd(const Tensor& x) {
  return add(
      matmul(x, x.mT()), mul(eye(x.size(-1), -1, kFloat64), static_cast<double>(x.size(-1))));
}

Tensor sym(const Tensor& x) {
  return mul(add(x, x.mT()), 0.5);
}
}  // namespace

TEST_CASE("qr backward: tall, square and wide, through Q, R and both") {
  for (const Shape& shape : {Shape{5, 3}, Shape{2, 4, 4}, Shape{3, 5}}) {
    CAPTURE(shape_str(shape));
    Tensor a = leaf(shape, 1);
    check_grad([](const TensorList& in) { return qr(in[0]).first; }, {a});
    check_grad([](const TensorList& in) { return qr(in[0]).second; }, {a});
    check_grad(
        [](const TensorList& in) {
          auto [q, r] = qr(in[0]);
          return flat_cat({q, r});
        },
        {a});
  }
}

TEST_CASE("qr backward of a complete tall QR is an error naming qr") {
  Tensor a = leaf({4, 2}, 2);
  auto [q, r] = qr(a, false);
  CHECK_THROWS_WITH_AS(sum(q).backward(), doctest::Contains("[qr]"), ValueError);
}

TEST_CASE("svd backward through S and sign-invariant functions of U and Vh") {
  for (const Shape& shape : {Shape{5, 3}, Shape{4, 4}, Shape{2, 3, 6}}) {
    CAPTURE(shape_str(shape));
    Tensor a = leaf(shape, 3);
    check_grad([](const TensorList& in) { return std::get<1>(svd(in[0])); }, {a});
    check_grad(
        [](const TensorList& in) {
          auto [u, s, vh] = svd(in[0]);
          return matmul(mul(u, s.unsqueeze(-2)), vh);  // U diag(S) Vh
        },
        {a});
    check_grad(
        [](const TensorList& in) {
          auto [u, s, vh] = svd(in[0]);
          return matmul(u, u.mT());  // projector onto the column space
        },
        {a});
    check_grad(
        [](const TensorList& in) {
          auto [u, s, vh] = svd(in[0]);
          return matmul(mul(vh.mT(), s.unsqueeze(-2)), vh);  // V diag(S) V^T
        },
        {a});
  }
}

TEST_CASE("svd backward with full_matrices uses the first k singular vectors") {
  Tensor a = leaf({3, 5}, 4);
  check_grad(
      [](const TensorList& in) {
        auto [u, s, vh] = svd(in[0], true);
        return matmul(mul(u, s.unsqueeze(-2)), vh.narrow(-2, 0, 3));
      },
      {a});
}

TEST_CASE("svd backward through singular vectors rejects repeated singular values") {
  Tensor a = eye(3, -1, kFloat64).requires_grad_();
  auto [u, s, vh] = svd(a);
  CHECK_THROWS_WITH_AS(
      sum(mul(u, u)).backward(), doctest::Contains("repeated singular values"), ValueError);
  Tensor b = eye(3, -1, kFloat64).requires_grad_();
  sum(std::get<1>(svd(b))).backward();  // values only: fine, d(sum S)/dA = U Vh = I
  CHECK(max_abs_diff(b.grad(), eye(3, -1, kFloat64)) < 1e-12);
}

TEST_CASE("solve backward for matrix, vector and broadcast right-hand sides") {
  Tensor a = leaf({3, 3}, 5), b = leaf({3, 2}, 6);
  const auto well = [](const Tensor& x) { return add(x, mul(eye(3, -1, kFloat64), 4.0)); };
  check_grad([&](const TensorList& in) { return solve(well(in[0]), in[1]); }, {a, b});
  Tensor v = leaf({3}, 7);
  check_grad([&](const TensorList& in) { return solve(well(in[0]), in[1]); }, {a, v});
  Tensor ab = leaf({2, 3, 3}, 8);
  check_grad([&](const TensorList& in) { return solve(well(in[0]), in[1]); }, {ab, b});
}

TEST_CASE("inverse backward") {
  Tensor a = leaf({2, 4, 4}, 9);
  check_grad(
      [](const TensorList& in) { return inverse(add(in[0], mul(eye(4, -1, kFloat64), 4.0))); },
      {a});
}

TEST_CASE("cholesky backward on symmetric positive definite inputs") {
  Tensor x = leaf({2, 4, 4}, 10);
  check_grad([](const TensorList& in) { return cholesky(spd(in[0])); }, {x});
}

TEST_CASE("eigh backward through eigenvalues and V f(L) V^T") {
  Tensor x = leaf({2, 4, 4}, 11);
  check_grad([](const TensorList& in) { return eigh(sym(in[0])).first; }, {x});
  check_grad(
      [](const TensorList& in) {
        auto [w, v] = eigh(sym(in[0]));
        return matmul(mul(v, w.unsqueeze(-2)), v.mT());
      },
      {x});
  check_grad(
      [](const TensorList& in) {
        auto [w, v] = eigh(sym(in[0]));
        return matmul(mul(v, exp(w).unsqueeze(-2)), v.mT());  // matrix exponential
      },
      {x});
}

TEST_CASE("eigh backward through eigenvectors rejects repeated eigenvalues") {
  Tensor a = eye(3, -1, kFloat64).requires_grad_();
  auto [w, v] = eigh(a);
  CHECK_THROWS_WITH_AS(
      sum(mul(v, v)).backward(), doctest::Contains("repeated eigenvalues"), ValueError);
}
