// Dense linear-algebra kernels (see linalg.h) on Eigen 3.4 decompositions, parallel over the batch.
//   QR:       HouseholderQR (reflectors as LAPACK dlarfg: R(i,i) = -sign(a_ii) * ||a_i:||).
//   SVD:      BDCSVD (divide and conquer; falls back to Jacobi below 16 columns).
//   Cholesky: LLT on the lower triangle; on failure an unblocked pass finds the failing minor.
//   solve:    PartialPivLU; a zero pivot is reported as LAPACK getrf's info.
//   eigh:     SelfAdjointEigenSolver on the lower triangle (eigenvalues ascending).
#include "tensor/cpu/linalg.h"

#include <omp.h>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <Eigen/QR>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <vector>

namespace peftcpp::cpu {
namespace {

using Mat = Eigen::MatrixXd;
using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMat>;
using MutMap = Eigen::Map<RowMat>;

// Runs fn(i) for every batch element; returns the first failure (fn returns info > 0 on failure).
template <typename Fn>
LinalgStatus for_each_batch(std::int64_t batch, Fn fn) {
  std::vector<std::int64_t> info(static_cast<std::size_t>(batch), 0);
#pragma omp parallel for schedule(dynamic) if (batch > 1 && !omp_in_parallel())
  for (std::int64_t i = 0; i < batch; ++i) info[static_cast<std::size_t>(i)] = fn(i);
  for (std::int64_t i = 0; i < batch; ++i) {
    if (info[static_cast<std::size_t>(i)] != 0)
      return {i, info[static_cast<std::size_t>(i)]};
  }
  return {};
}

// Order (1-based) of the first leading minor that is not positive definite, by an unblocked
// Cholesky on the lower triangle; 0 if none (only run after LLT reported a failure).
std::int64_t failing_minor(const Mat& a) {
  const Eigen::Index n = a.rows();
  Mat l = Mat::Zero(n, n);
  for (Eigen::Index j = 0; j < n; ++j) {
    double d = a(j, j);
    for (Eigen::Index p = 0; p < j; ++p) d -= l(j, p) * l(j, p);
    if (!(d > 0.0))
      return j + 1;  // also catches NaN
    l(j, j) = std::sqrt(d);
    for (Eigen::Index i = j + 1; i < n; ++i) {
      double v = a(i, j);
      for (Eigen::Index p = 0; p < j; ++p) v -= l(i, p) * l(j, p);
      l(i, j) = v / l(j, j);
    }
  }
  return n;  // LLT failed on rounding at the last step
}

}  // namespace

void qr_kernel(
    const double* a,
    double* q,
    double* r,
    std::int64_t batch,
    std::int64_t m,
    std::int64_t n,
    bool complete) {
  const std::int64_t k = std::min(m, n);
  const std::int64_t kq = complete ? m : k;
  for_each_batch(batch, [&](std::int64_t b) -> std::int64_t {
    MutMap Q(q + b * m * kq, m, kq);
    MutMap R(r + b * kq * n, kq, n);
    if (k == 0) {
      Q.setIdentity();
      R.setZero();
      return 0;
    }
    Eigen::HouseholderQR<Mat> qr(Mat(ConstMap(a + b * m * n, m, n)));
    Q = qr.householderQ() * Mat::Identity(m, kq);
    R = qr.matrixQR().topRows(kq).triangularView<Eigen::Upper>();
    return 0;
  });
}

void svd_kernel(
    const double* a,
    double* u,
    double* s,
    double* vh,
    std::int64_t batch,
    std::int64_t m,
    std::int64_t n,
    bool full) {
  const std::int64_t k = std::min(m, n);
  const std::int64_t ku = full ? m : k, kv = full ? n : k;
  const unsigned options = full ? (Eigen::ComputeFullU | Eigen::ComputeFullV)
                                : (Eigen::ComputeThinU | Eigen::ComputeThinV);
  for_each_batch(batch, [&](std::int64_t b) -> std::int64_t {
    MutMap U(u + b * m * ku, m, ku);
    MutMap Vh(vh + b * kv * n, kv, n);
    Eigen::Map<Eigen::VectorXd> S(s + b * k, k);
    if (k == 0) {
      U.setIdentity();
      Vh.setIdentity();
      return 0;
    }
    Eigen::BDCSVD<Mat> svd(Mat(ConstMap(a + b * m * n, m, n)), options);
    U = svd.matrixU();
    S = svd.singularValues();
    Vh = svd.matrixV().transpose();
    return 0;
  });
}

LinalgStatus cholesky_kernel(const double* a, double* l, std::int64_t batch, std::int64_t n) {
  return for_each_batch(batch, [&](std::int64_t b) -> std::int64_t {
    MutMap L(l + b * n * n, n, n);
    if (n == 0)
      return 0;
    Mat A = ConstMap(a + b * n * n, n, n);
    Eigen::LLT<Mat, Eigen::Lower> llt(A);
    if (llt.info() != Eigen::Success)
      return failing_minor(A);
    L = llt.matrixL();
    // LLT accepts some indefinite inputs whose pivots stay positive only through NaN; reject those.
    if (!L.allFinite())
      return failing_minor(A);
    return 0;
  });
}

LinalgStatus solve_kernel(
    const double* a,
    const double* b,
    double* x,
    std::int64_t batch,
    std::int64_t n,
    std::int64_t k) {
  return for_each_batch(batch, [&](std::int64_t i) -> std::int64_t {
    MutMap X(x + i * n * k, n, k);
    if (n == 0)
      return 0;
    Eigen::PartialPivLU<Mat> lu(Mat(ConstMap(a + i * n * n, n, n)));
    const auto diag = lu.matrixLU().diagonal();
    for (Eigen::Index j = 0; j < n; ++j) {
      if (diag(j) == 0.0)
        return j + 1;
    }
    if (b == nullptr) {
      X = lu.inverse();
    } else {
      X = lu.solve(Mat(ConstMap(b + i * n * k, n, k)));
    }
    return 0;
  });
}

LinalgStatus eigh_kernel(
    const double* a, double* w, double* v, std::int64_t batch, std::int64_t n) {
  return for_each_batch(batch, [&](std::int64_t b) -> std::int64_t {
    if (n == 0)
      return 0;
    Eigen::SelfAdjointEigenSolver<Mat> es(Mat(ConstMap(a + b * n * n, n, n)));
    if (es.info() != Eigen::Success)
      return 1;
    Eigen::Map<Eigen::VectorXd>(w + b * n, n) = es.eigenvalues();
    MutMap(v + b * n * n, n, n) = es.eigenvectors();
    return 0;
  });
}

}  // namespace peftcpp::cpu
