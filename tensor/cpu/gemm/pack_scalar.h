// Portable packing loops shared by the AVX2 and generic kernels (layouts in kernel.h).
//
// Included only by kernel TUs: everything sits in an unnamed namespace so each TU gets its own
// copy compiled with its own -m flags (no ODR merging of an AVX2 body into the generic path).
#pragma once

#include <algorithm>
#include <cstdint>

namespace peftcpp::cpu::gemm_detail {
namespace {

template <int MR>
void pack_a_scalar(bool trans_a, int64_t mc, int64_t kc, const float* a, int64_t lda,
                   float* dst) {
  for (int64_t ir = 0; ir < mc; ir += MR) {
    const int64_t mr = std::min<int64_t>(MR, mc - ir);
    float* d = dst + ir * kc;
    if (trans_a) {
      for (int64_t p = 0; p < kc; ++p) {
        const float* s = a + p * lda + ir;
        for (int64_t i = 0; i < MR; ++i) d[p * MR + i] = i < mr ? s[i] : 0.0f;
      }
      continue;
    }
    for (int64_t i = 0; i < MR; ++i) {
      if (i >= mr) {
        for (int64_t p = 0; p < kc; ++p) d[p * MR + i] = 0.0f;
        continue;
      }
      const float* s = a + (ir + i) * lda;
      for (int64_t p = 0; p < kc; ++p) d[p * MR + i] = s[p];
    }
  }
}

template <int NR>
void pack_b_scalar(bool trans_b, int64_t kc, int64_t nc, const float* b, int64_t ldb,
                   float* dst) {
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int64_t nr = std::min<int64_t>(NR, nc - jr);
    float* d = dst + jr * kc;
    if (!trans_b) {
      for (int64_t p = 0; p < kc; ++p) {
        const float* s = b + p * ldb + jr;
        for (int64_t j = 0; j < NR; ++j) d[p * NR + j] = j < nr ? s[j] : 0.0f;
      }
      continue;
    }
    for (int64_t j = 0; j < NR; ++j) {
      if (j >= nr) {
        for (int64_t p = 0; p < kc; ++p) d[p * NR + j] = 0.0f;
        continue;
      }
      const float* s = b + (jr + j) * ldb;
      for (int64_t p = 0; p < kc; ++p) d[p * NR + j] = s[p];
    }
  }
}

}  // namespace
}  // namespace peftcpp::cpu::gemm_detail
