// Forward values of qr, svd, solve, inverse, cholesky and eigh: small cases worked out by hand,
// defining identities (Q R = A, orthonormal factors, descending / ascending values) on random and
// batched inputs, dtypes and errors.
#include <doctest/doctest.h>

#include <cmath>

#include "tensor/ops.h"

using namespace peftcpp;

namespace {
using D = std::vector<double>;

Tensor rnd(const Shape& shape, std::uint64_t seed, DType dtype = kFloat64) {
  Generator g(seed);
  return randn(shape, dtype, &g);
}

void check_close(const Tensor& a, const Tensor& b, double tol = 1e-10) {
  REQUIRE(a.shape() == b.shape());
  CHECK(max_abs_diff(a, b) <= tol);
}

// I of the last dim, broadcast over batch.
Tensor eye_of(const Tensor& q) {
  return eye(q.size(-1), -1, q.dtype());
}

template <typename E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("qr of a 2x2 matrix matches the Householder (LAPACK) signs worked out by hand") {
  // a = [[3, 1], [4, 2]]: first reflector maps (3, 4) to (-5, 0); the 1x1 tail is left alone.
  auto [q, r] = qr(tensor<double>({3, 1, 4, 2}, {2, 2}));
  check_close(q, tensor<double>({-0.6, -0.8, -0.8, 0.6}, {2, 2}), 1e-14);
  check_close(r, tensor<double>({-5, -2.2, 0, 0.4}, {2, 2}), 1e-14);
}

TEST_CASE("qr reduced and complete: Q R = A, orthonormal Q, upper-triangular R, batched") {
  Tensor a = rnd({3, 5, 3}, 1);
  auto [q, r] = qr(a);
  CHECK(q.shape() == Shape{3, 5, 3});
  CHECK(r.shape() == Shape{3, 3, 3});
  check_close(matmul(q, r), a);
  check_close(matmul(q.mT(), q), eye_of(q).expand({3, 3, 3}));
  check_close(r, triu(r), 0.0);
  auto [qc, rc] = qr(a, false);
  CHECK(qc.shape() == Shape{3, 5, 5});
  CHECK(rc.shape() == Shape{3, 5, 3});
  check_close(matmul(qc, rc), a);
  check_close(matmul(qc.mT(), qc), eye_of(qc).expand({3, 5, 5}));
  check_close(qc.narrow(-1, 0, 3), q);  // the first k columns are the reduced Q
  Tensor wide = rnd({2, 4}, 2);
  auto [qw, rw] = qr(wide);
  CHECK(rw.shape() == Shape{2, 4});
  check_close(matmul(qw, rw), wide);
  auto [qe, re] = qr(zeros({3, 0}, kFloat64), false);
  CHECK(qe.shape() == Shape{3, 3});
  CHECK(re.shape() == Shape{3, 0});
}

TEST_CASE("svd of hand-checkable matrices: values descending, reduced and full shapes") {
  auto [u, s, vh] = svd(tensor<double>({1, 1, 1, 1}, {2, 2}));
  check_close(s, tensor<double>({2, 0}), 1e-12);
  auto [u2, s2, vh2] = svd(tensor<double>({3, 4}, {1, 2}));
  check_close(s2, tensor<double>({5}, {1}), 1e-12);
  check_close(abs(vh2), tensor<double>({0.6, 0.8}, {1, 2}), 1e-12);
  Tensor a = rnd({2, 6, 4}, 3);
  auto [ur, sr, vr] = svd(a);
  CHECK(ur.shape() == Shape{2, 6, 4});
  CHECK(sr.shape() == Shape{2, 4});
  CHECK(vr.shape() == Shape{2, 4, 4});
  check_close(matmul(mul(ur, sr.unsqueeze(-2)), vr), a);
  check_close(matmul(ur.mT(), ur), eye_of(ur).expand({2, 4, 4}));
  const D sv = sr.to_vector<double>();
  for (std::size_t i = 0; i + 1 < sv.size(); ++i) {
    if (i % 4 != 3)
      CHECK(sv[i] >= sv[i + 1]);
  }
  auto [uf, sf, vf] = svd(a.mT(), true);  // 4 x 6, full: U 4x4, Vh 6x6
  CHECK(uf.shape() == Shape{2, 4, 4});
  CHECK(vf.shape() == Shape{2, 6, 6});
  check_close(sf, sr);
  check_close(matmul(vf, vf.mT()), eye_of(vf).expand({2, 6, 6}));
  check_close(matmul(mul(uf, sf.unsqueeze(-2)), vf.narrow(-2, 0, 4)), a.mT());
}

TEST_CASE("solve handles vectors, matrices and broadcast batch dims") {
  Tensor a = tensor<double>({2, 1, 1, 3}, {2, 2});
  check_close(solve(a, tensor<double>({3, 5})), tensor<double>({0.8, 1.4}), 1e-14);
  // columns (3, 5) and (1, 0): the second solves to (0.6, -0.2)
  check_close(
      solve(a, tensor<double>({3, 1, 5, 0}, {2, 2})),
      tensor<double>({0.8, 0.6, 1.4, -0.2}, {2, 2}),
      1e-14);
  Tensor ab = add(rnd({3, 4, 4}, 4), mul(eye(4, -1, kFloat64), 4.0));
  Tensor b = rnd({4, 2}, 5);
  Tensor x = solve(ab, b);
  CHECK(x.shape() == Shape{3, 4, 2});
  check_close(matmul(ab, x), b.expand({3, 4, 2}));
  Tensor xv = solve(ab, rnd({3, 4}, 6));  // batch of vectors
  CHECK(xv.shape() == Shape{3, 4});
  CHECK(error_of<ShapeError>([&] { solve(a, tensor<double>({1, 2, 3})); }).find("[solve]") == 0);
  CHECK(error_of<ValueError>([] {
          solve(zeros({2, 2}, kFloat64), ones({2}, kFloat64));
        }).find("singular") != std::string::npos);
}

TEST_CASE("inverse of a 2x2 matrix by the adjugate formula, batched, and singular input") {
  check_close(
      inverse(tensor<double>({4, 7, 2, 6}, {2, 2})),
      tensor<double>({0.6, -0.7, -0.2, 0.4}, {2, 2}),
      1e-14);
  Tensor a = add(rnd({2, 3, 5, 5}, 7), mul(eye(5, -1, kFloat64), 5.0));
  check_close(matmul(a, inverse(a)), eye(5, -1, kFloat64).expand({2, 3, 5, 5}));
  const std::string msg = error_of<ValueError>([] {
    inverse(tensor<double>({1, 2, 2, 4}, {2, 2}));
  });
  CHECK(msg.find("[inverse]") == 0);
  CHECK(error_of<ShapeError>([] { inverse(zeros({2, 3}, kFloat64)); }).find("[inverse]") == 0);
}

TEST_CASE("cholesky of a 2x2 matrix reads only the lower triangle; non-PD input is an error") {
  // [[4, 2], [2, 3]] = L L^T with L = [[2, 0], [1, sqrt(2)]]; the 99 above the diagonal is ignored
  Tensor l = cholesky(tensor<double>({4, 99, 2, 3}, {2, 2}));
  check_close(l, tensor<double>({2, 0, 1, std::sqrt(2.0)}, {2, 2}), 1e-14);
  Tensor x = rnd({3, 4, 4}, 8);
  Tensor spd = add(matmul(x, x.mT()), eye(4, -1, kFloat64));
  Tensor lb = cholesky(spd);
  check_close(matmul(lb, lb.mT()), spd);
  check_close(lb, tril(lb), 0.0);
  const std::string msg = error_of<ValueError>([] {
    cholesky(tensor<double>({1, 2, 2, 1}, {2, 2}));
  });
  CHECK(msg.find("[cholesky]") == 0);
  CHECK(msg.find("order 2") != std::string::npos);
}

TEST_CASE("eigh of a 2x2 matrix: ascending eigenvalues, eigenvectors up to sign") {
  auto [w, v] = eigh(tensor<double>({2, 1, 1, 2}, {2, 2}));
  check_close(w, tensor<double>({1, 3}), 1e-14);
  const double h = 1.0 / std::sqrt(2.0);
  check_close(abs(v), tensor<double>({h, h, h, h}, {2, 2}), 1e-14);
  CHECK(v.to_vector<double>()[0] * v.to_vector<double>()[2] < 0);  // (1, -1) direction for 1
  Tensor x = rnd({2, 5, 5}, 9);
  Tensor s = add(x, x.mT());
  auto [wb, vb] = eigh(s);
  check_close(matmul(mul(vb, wb.unsqueeze(-2)), vb.mT()), s);
  check_close(matmul(vb.mT(), vb), eye(5, -1, kFloat64).expand({2, 5, 5}));
  const D wv = wb.to_vector<double>();
  for (std::size_t i = 0; i + 1 < wv.size(); ++i) {
    if (i % 5 != 4)
      CHECK(wv[i] <= wv[i + 1]);
  }
}

TEST_CASE("linalg ops keep float32, accept non-contiguous input and reject integers and 1-D") {
  Tensor a = rnd({4, 4}, 10, kFloat32);
  Tensor at = a.t();  // non-contiguous
  auto [q, r] = qr(at);
  CHECK(q.dtype() == kFloat32);
  CHECK(max_abs_diff(matmul(q, r), at) < 1e-5);
  Tensor s = add(matmul(a, a.t()), eye(4));
  CHECK(cholesky(s).dtype() == kFloat32);
  CHECK(std::get<1>(svd(a)).dtype() == kFloat32);
  CHECK(eigh(s).second.dtype() == kFloat32);
  CHECK(max_abs_diff(matmul(inverse(s), s), eye(4)) < 1e-4);
  CHECK(error_of<DTypeError>([] { qr(zeros({2, 2}, kInt64)); }).find("[qr]") == 0);
  CHECK(error_of<ShapeError>([] { svd(zeros({3}, kFloat64)); }).find("[svd]") == 0);
  CHECK(error_of<ShapeError>([] { eigh(zeros({2, 3}, kFloat64)); }).find("[eigh]") == 0);
  CHECK(error_of<ShapeError>([] { cholesky(zeros({2, 3}, kFloat64)); }).find("[cholesky]") == 0);
}
