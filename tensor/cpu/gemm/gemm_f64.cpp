// float64 GEMM of the CPU backend through Eigen (row-major maps, noalias products).
//
// float64 serves gradient checks and reference paths, not training throughput, so it stays
// single-threaded: Eigen's blocking depends on the matrix sizes, and splitting C between
// threads could then change results with the thread count.
#include <omp.h>

#include <Eigen/Core>
#include <exception>

#include "tensor/cpu/gemm/gemm.h"
#include "tensor/cpu/gemm/gemm_args.h"
#include "tensor/error.h"

namespace peftcpp::cpu {
namespace {

using MatrixR = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const MatrixR, Eigen::Unaligned, Eigen::OuterStride<>>;
using MutMap = Eigen::Map<MatrixR, Eigen::Unaligned, Eigen::OuterStride<>>;

void dgemm_unchecked(
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
    int64_t ldc) {
  if (m == 0 || n == 0)
    return;
  MutMap cm(c, m, n, Eigen::OuterStride<>(ldc));
  if (beta == 0.0) {
    cm.setZero();  // never read C: it may hold NaN
  } else if (beta != 1.0) {
    cm *= beta;
  }
  if (k == 0 || alpha == 0.0)
    return;
  const ConstMap am(a, trans_a ? k : m, trans_a ? m : k, Eigen::OuterStride<>(lda));
  const ConstMap bm(b, trans_b ? n : k, trans_b ? k : n, Eigen::OuterStride<>(ldb));
  if (!trans_a && !trans_b) {
    cm.noalias() += alpha * am * bm;
  } else if (!trans_a) {
    cm.noalias() += alpha * am * bm.transpose();
  } else if (!trans_b) {
    cm.noalias() += alpha * am.transpose() * bm;
  } else {
    cm.noalias() += alpha * am.transpose() * bm.transpose();
  }
}

}  // namespace

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
    int64_t ldc) {
  gemm_detail::check_gemm_args("dgemm", trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
  dgemm_unchecked(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

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
    int64_t stride_c) {
  PEFTCPP_CHECK(batch >= 0, "[dgemm_strided_batched] batch must be non-negative, got ", batch);
  gemm_detail::check_gemm_args(
      "dgemm_strided_batched", trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
  // One whole matrix per thread: each is computed as a lone dgemm would, whatever the threads.
  const int threads = omp_in_parallel() ? 1 : gemm_num_threads();
  std::exception_ptr error;
  // Small batches of small matrices (gradchecks, LoRA ranks) run faster than a thread team starts.
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) *
                       static_cast<double>(batch);
#pragma omp parallel for schedule(static) num_threads(threads) if (batch > 1 && threads > 1 && flops >= 1e6)
  for (int64_t i = 0; i < batch; ++i) {
    try {
      dgemm_unchecked(
          trans_a,
          trans_b,
          m,
          n,
          k,
          alpha,
          gemm_detail::batch_offset(a, i, stride_a),
          lda,
          gemm_detail::batch_offset(b, i, stride_b),
          ldb,
          beta,
          gemm_detail::batch_offset(c, i, stride_c),
          ldc);
    } catch (...) {
#pragma omp critical(peftcpp_dgemm_error)
      error = std::current_exception();
    }
  }
  if (error)
    std::rethrow_exception(error);
}

}  // namespace peftcpp::cpu
