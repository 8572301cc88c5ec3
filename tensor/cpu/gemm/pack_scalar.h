// Portable packing loops shared by the AVX2 and generic kernels (layouts in kernel.h).
//
// Included only by kernel TUs: everything sits in an unnamed namespace so each TU gets its own
// copy compiled with its own -m flags (no ODR merging of an AVX2 body into the generic path).
#pragma once

#include <algorithm>
#include <cstdint>

namespace peftcpp::cpu::gemm_detail {
namespace {

// Packs elements (p, i) = src[p*ld + i], p < kc, i < total (the panel direction is contiguous)
// into panels of W. Eight source rows at a time across all panels: each row is read in one run
// even when ld is a large power of two.
template <int W>
void pack_contiguous(int64_t kc, int64_t total, const float* src, int64_t ld, float* dst) {
  for (int64_t p0 = 0; p0 < kc; p0 += 8) {
    const int64_t p1 = std::min<int64_t>(kc, p0 + 8);
    for (int64_t t = 0; t < total; t += W) {
      const int64_t width = std::min<int64_t>(W, total - t);
      for (int64_t p = p0; p < p1; ++p) {
        const float* s = src + p * ld + t;
        float* d = dst + t * kc + p * W;
        for (int64_t i = 0; i < width; ++i) d[i] = s[i];
        for (int64_t i = width; i < W; ++i) d[i] = 0.0f;
      }
    }
  }
}

// Packs elements (p, i) = src[i*ld + p] (the depth direction is contiguous) into panels of W.
template <int W>
void pack_strided(int64_t kc, int64_t total, const float* src, int64_t ld, float* dst) {
  for (int64_t t = 0; t < total; t += W) {
    const int64_t width = std::min<int64_t>(W, total - t);
    float* d = dst + t * kc;
    for (int64_t i = 0; i < W; ++i) {
      if (i >= width) {
        for (int64_t p = 0; p < kc; ++p) d[p * W + i] = 0.0f;
        continue;
      }
      const float* s = src + (t + i) * ld;
      for (int64_t p = 0; p < kc; ++p) d[p * W + i] = s[p];
    }
  }
}

template <int MR>
void pack_a_scalar(bool trans_a, int64_t mc, int64_t kc, const float* a, int64_t lda, float* dst) {
  if (trans_a) {
    pack_contiguous<MR>(kc, mc, a, lda, dst);
  } else {
    pack_strided<MR>(kc, mc, a, lda, dst);
  }
}

template <int NR>
void pack_b_scalar(bool trans_b, int64_t kc, int64_t nc, const float* b, int64_t ldb, float* dst) {
  if (trans_b) {
    pack_strided<NR>(kc, nc, b, ldb, dst);
  } else {
    pack_contiguous<NR>(kc, nc, b, ldb, dst);
  }
}

}  // namespace
}  // namespace peftcpp::cpu::gemm_detail
