// Dense matrix products of the CPU backend (internal header: not installed).
//
// Everything is row-major. For sgemm/dgemm:
//   C[m,n] = alpha * op(A)[m,k] @ op(B)[k,n] + beta * C
// where op(X) is X or X^T. A is stored [m,k] with leading dimension lda, or [k,m] when trans_a;
// B is stored [k,n] with ldb, or [n,k] when trans_b; C is [m,n] with ldc.
// beta == 0 never reads C (it may hold NaN); alpha == 0 or k == 0 never reads A or B.
//
// Results do not depend on the thread count: each C element is accumulated in the same k order
// whatever the number of threads (see gemm.cpp for the design).
#pragma once

#include <cstdint>

namespace peftcpp::cpu {

/// float32 GEMM: packed, cache-blocked, AVX-512/AVX2 kernels picked at run time, OpenMP threaded.
void sgemm(
    bool trans_a,
    bool trans_b,
    int64_t m,
    int64_t n,
    int64_t k,
    float alpha,
    const float* a,
    int64_t lda,
    const float* b,
    int64_t ldb,
    float beta,
    float* c,
    int64_t ldc);

/// float64 GEMM (Eigen).
void dgemm(
    bool trans_a,
    bool trans_b,
    int64_t m,
    int64_t n,
    int64_t k,
    double alpha,
    const double* a,
    int64_t lda,
    const double* b,
    int64_t ldb,
    double beta,
    double* c,
    int64_t ldc);

/// `batch` independent sgemm calls; matrix i starts at a + i*stride_a, b + i*stride_b,
/// c + i*stride_c.
void sgemm_strided_batched(
    bool trans_a,
    bool trans_b,
    int64_t m,
    int64_t n,
    int64_t k,
    float alpha,
    const float* a,
    int64_t lda,
    const float* b,
    int64_t ldb,
    float beta,
    float* c,
    int64_t ldc,
    int64_t batch,
    int64_t stride_a,
    int64_t stride_b,
    int64_t stride_c);

/// `batch` independent dgemm calls (see sgemm_strided_batched).
void dgemm_strided_batched(
    bool trans_a,
    bool trans_b,
    int64_t m,
    int64_t n,
    int64_t k,
    double alpha,
    const double* a,
    int64_t lda,
    const double* b,
    int64_t ldb,
    double beta,
    double* c,
    int64_t ldc,
    int64_t batch,
    int64_t stride_a,
    int64_t stride_b,
    int64_t stride_c);

/// Threads used by sgemm/dgemm; defaults to omp_get_max_threads().
int gemm_num_threads();
/// Sets the GEMM thread count (>= 1); throws ValueError otherwise.
void set_gemm_num_threads(int num_threads);

/// The float32 micro-kernel that run-time dispatch chose: "avx512", "avx2" or "generic".
const char* sgemm_kernel_name();

/// The micro-kernel families compiled in; exposed so tests can run each one explicitly.
enum class SgemmKernelKind { Generic, Avx2, Avx512 };

/// Whether this CPU can run `kind`.
bool sgemm_kernel_supported(SgemmKernelKind kind);

/// sgemm forced onto one kernel family; throws ValueError when the CPU lacks it.
void sgemm_with_kernel(
    SgemmKernelKind kind,
    bool trans_a,
    bool trans_b,
    int64_t m,
    int64_t n,
    int64_t k,
    float alpha,
    const float* a,
    int64_t lda,
    const float* b,
    int64_t ldb,
    float beta,
    float* c,
    int64_t ldc);

}  // namespace peftcpp::cpu
