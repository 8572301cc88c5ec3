// Argument validation shared by the GEMM entry points (see gemm_args.h).
#include "tensor/cpu/gemm/gemm_args.h"

#include <algorithm>

#include "tensor/error.h"

namespace peftcpp::cpu::gemm_detail {

void check_gemm_args(
    const char* op,
    bool trans_a,
    bool trans_b,
    int64_t m,
    int64_t n,
    int64_t k,
    const void* a,
    int64_t lda,
    const void* b,
    int64_t ldb,
    const void* c,
    int64_t ldc) {
  PEFTCPP_CHECK(
      m >= 0 && n >= 0 && k >= 0,
      "[",
      op,
      "] sizes must be non-negative, got m=",
      m,
      " n=",
      n,
      " k=",
      k);
  const int64_t a_cols = trans_a ? m : k;
  const int64_t b_cols = trans_b ? k : n;
  PEFTCPP_CHECK(
      lda >= std::max<int64_t>(1, a_cols),
      "[",
      op,
      "] lda=",
      lda,
      " is less than ",
      trans_a ? "m=" : "k=",
      a_cols,
      " (A is ",
      trans_a ? "transposed" : "not transposed",
      ")");
  PEFTCPP_CHECK(
      ldb >= std::max<int64_t>(1, b_cols),
      "[",
      op,
      "] ldb=",
      ldb,
      " is less than ",
      trans_b ? "k=" : "n=",
      b_cols,
      " (B is ",
      trans_b ? "transposed" : "not transposed",
      ")");
  PEFTCPP_CHECK(ldc >= std::max<int64_t>(1, n), "[", op, "] ldc=", ldc, " is less than n=", n);
  const bool reads_ab = m > 0 && n > 0 && k > 0;
  PEFTCPP_CHECK(
      !reads_ab || (a != nullptr && b != nullptr),
      "[",
      op,
      "] A or B is null for a non-empty product (m=",
      m,
      " n=",
      n,
      " k=",
      k,
      ")");
  PEFTCPP_CHECK(
      m == 0 || n == 0 || c != nullptr,
      "[",
      op,
      "] C is null for a non-empty ",
      m,
      "x",
      n,
      " output");
}

}  // namespace peftcpp::cpu::gemm_detail
