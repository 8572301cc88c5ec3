// Argument validation shared by the float32 and float64 GEMM entry points.
#pragma once

#include <cstdint>

namespace peftcpp::cpu::gemm_detail {

/// Throws ValueError ("[op] ...") for negative sizes, leading dimensions below the stored row
/// length, or null pointers where elements must be read or written.
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
    int64_t ldc);

/// Matrix i of a strided batch; null stays null (empty products may pass no storage).
template <typename T>
T* batch_offset(T* base, int64_t i, int64_t stride) {
  return base == nullptr ? base : base + i * stride;
}

}  // namespace peftcpp::cpu::gemm_detail
