// Dense linear-algebra kernels on host float64 buffers (Eigen inside; this header includes none).
// Not installed: only tensor/ops/linalg.cpp calls them, after copying its input to a contiguous
// CPU float64 tensor. Every matrix is row-major and contiguous; `batch` matrices lie back to back.
#pragma once

#include <cstdint>

namespace peftcpp::cpu {

/// Outcome of a batched factorisation. On failure, `batch` is the first failing batch element and
/// `info` the 1-based LAPACK-style position (order of the failing minor, index of the zero pivot).
struct LinalgStatus {
  std::int64_t batch = -1;
  std::int64_t info = 0;
  bool ok() const {
    return batch < 0;
  }
};

/// Householder QR (the same reflector convention as LAPACK geqrf/orgqr, so diag(R) may be
/// negative). a: (m, n) -> q: (m, kq), r: (kq, n) with kq = m when `complete`, else min(m, n).
void qr_kernel(
    const double* a,
    double* q,
    double* r,
    std::int64_t batch,
    std::int64_t m,
    std::int64_t n,
    bool complete);

/// a = u diag(s) vh with s descending. a: (m, n) -> u: (m, ku), s: (k), vh: (kv, n), where
/// k = min(m, n), ku = m and kv = n when `full`, else ku = kv = k.
void svd_kernel(
    const double* a,
    double* u,
    double* s,
    double* vh,
    std::int64_t batch,
    std::int64_t m,
    std::int64_t n,
    bool full);

/// Lower Cholesky factor of each (n, n) matrix (only its lower triangle is read). Fails when a
/// leading minor is not positive definite.
LinalgStatus cholesky_kernel(const double* a, double* l, std::int64_t batch, std::int64_t n);

/// x = a^{-1} b with LU and partial pivoting. a: (n, n), b and x: (n, k); b == nullptr means the
/// identity (k must equal n), i.e. the inverse. Fails on an exactly zero pivot (singular a).
LinalgStatus solve_kernel(
    const double* a,
    const double* b,
    double* x,
    std::int64_t batch,
    std::int64_t n,
    std::int64_t k);

/// Eigenvalues (ascending) w: (n) and orthonormal eigenvectors (columns of v: (n, n)) of each
/// symmetric (n, n) matrix; only its lower triangle is read. Fails if the iteration does not
/// converge.
LinalgStatus eigh_kernel(const double* a, double* w, double* v, std::int64_t batch, std::int64_t n);

}  // namespace peftcpp::cpu
