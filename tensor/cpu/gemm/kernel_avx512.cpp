// AVX-512 sgemm kernel: 12x32 register tile (24 zmm accumulators + 2 B vectors + 1 broadcast),
// packing with in-register 16x16 transposes, masked edges. Compiled with -mavx512f -mavx512dq
// -mfma in its own static library; gemm.cpp only calls it after __builtin_cpu_supports.
//
// GCC 12.2 reports -Wmaybe-uninitialized inside its own avx512fintrin.h when _mm512_undefined_ps()
// (a deliberate self-initialisation) is inlined into shuffles (GCC PR 105593, fixed in 12.3).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "tensor/cpu/gemm/kernel.h"

namespace peftcpp::cpu::gemm_detail {
namespace {

constexpr int kMr = 12;
constexpr int kNr = 32;
constexpr int kNv = kNr / 16;
// Software prefetch distance in k-steps (4 measured best of 4, 8, 16 on the skinny LoRA shapes).
constexpr int64_t kPrefetchRows = 4;

// Lanes [0, count) set, count clamped to [0, 16].
inline __mmask16 lanes(int64_t count) {
  if (count <= 0)
    return 0;
  return count >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << count) - 1u);
}

// Prefetches the line holding p[offset]. The address is formed in integers: near the end of an
// operand it may lie past the array, which a prefetch tolerates but pointer arithmetic must not.
inline void prefetch(const float* p, int64_t offset) {
  const auto address =
      reinterpret_cast<std::uintptr_t>(p) + static_cast<std::uintptr_t>(offset) * sizeof(float);
  _mm_prefetch(reinterpret_cast<const char*>(address), _MM_HINT_T0);
}

// In-place 16x16 transpose: on return r[q] holds what was column q.
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  __m512 u[16];  // u[4g + s]: rows 4g..4g+3 of column 4L + s in 128-bit lane L
  for (int g = 0; g < 4; ++g) {
    const __m512 lo0 = t[4 * g], hi0 = t[4 * g + 1], lo1 = t[4 * g + 2], hi1 = t[4 * g + 3];
    u[g] = _mm512_shuffle_ps(lo0, lo1, 0x44);
    u[4 + g] = _mm512_shuffle_ps(lo0, lo1, 0xEE);
    u[8 + g] = _mm512_shuffle_ps(hi0, hi1, 0x44);
    u[12 + g] = _mm512_shuffle_ps(hi0, hi1, 0xEE);
  }
  for (int s = 0; s < 4; ++s) {
    const __m512* us = u + 4 * s;  // us[g]: rows 4g..4g+3, columns 4L+s
    const __m512 v0 = _mm512_shuffle_f32x4(us[0], us[1], 0x88);
    const __m512 v1 = _mm512_shuffle_f32x4(us[0], us[1], 0xDD);
    const __m512 v2 = _mm512_shuffle_f32x4(us[2], us[3], 0x88);
    const __m512 v3 = _mm512_shuffle_f32x4(us[2], us[3], 0xDD);
    r[s] = _mm512_shuffle_f32x4(v0, v2, 0x88);
    r[8 + s] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
    r[4 + s] = _mm512_shuffle_f32x4(v1, v3, 0x88);
    r[12 + s] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
  }
}

// Loads rows [0, rows) x columns [0, cols) of a row-major block (zeros elsewhere), transposes,
// and returns the 16 columns in r.
inline void load_transposed(
    const float* src, int64_t ld, int64_t rows, int64_t cols, __m512 r[16]) {
  const __mmask16 m = lanes(cols);
  for (int i = 0; i < 16; ++i) {
    r[i] = i < rows ? _mm512_maskz_loadu_ps(m, src + i * ld) : _mm512_setzero_ps();
  }
  transpose16(r);
}

void pack_a(bool trans_a, int64_t mc, int64_t kc, const float* a, int64_t lda, float* dst) {
  const __mmask16 row_mask = lanes(kMr);
  if (trans_a) {
    // Column p of the block is contiguous (a[p*lda + ...]): copy 8 columns at a time across all
    // panels, so each source row is read in one run even when lda is a large power of two.
    for (int64_t p0 = 0; p0 < kc; p0 += 8) {
      const int64_t p1 = std::min<int64_t>(kc, p0 + 8);
      for (int64_t ir = 0; ir < mc; ir += kMr) {
        const __mmask16 m = lanes(mc - ir);
        float* d = dst + ir * kc;
        for (int64_t p = p0; p < p1; ++p) {
          _mm512_mask_storeu_ps(d + p * kMr, row_mask, _mm512_maskz_loadu_ps(m, a + p * lda + ir));
        }
      }
    }
    return;
  }
  for (int64_t ir = 0; ir < mc; ir += kMr) {
    const int64_t mr = std::min<int64_t>(kMr, mc - ir);
    float* d = dst + ir * kc;
    for (int64_t p0 = 0; p0 < kc; p0 += 16) {
      const int64_t kk = std::min<int64_t>(16, kc - p0);
      __m512 r[16];
      load_transposed(a + ir * lda + p0, lda, mr, kk, r);
      for (int q = 0; q < kk; ++q) _mm512_mask_storeu_ps(d + (p0 + q) * kMr, row_mask, r[q]);
    }
  }
}

void pack_b(bool trans_b, int64_t kc, int64_t nc, const float* b, int64_t ldb, float* dst) {
  if (!trans_b) {
    // Rows of B are contiguous: copy 8 rows at a time across all panels, so the source is read
    // in long runs and each panel receives 1 KiB contiguous writes.
    for (int64_t p0 = 0; p0 < kc; p0 += 8) {
      const int64_t p1 = std::min<int64_t>(kc, p0 + 8);
      for (int64_t jr = 0; jr < nc; jr += kNr) {
        const int64_t nr = std::min<int64_t>(kNr, nc - jr);
        const __mmask16 m0 = lanes(nr), m1 = lanes(nr - 16);
        float* d = dst + jr * kc;
        for (int64_t p = p0; p < p1; ++p) {
          const float* s = b + p * ldb + jr;
          _mm512_store_ps(d + p * kNr, _mm512_maskz_loadu_ps(m0, s));
          _mm512_store_ps(
              d + p * kNr + 16, nr > 16 ? _mm512_maskz_loadu_ps(m1, s + 16) : _mm512_setzero_ps());
        }
      }
    }
    return;
  }
  for (int64_t jr = 0; jr < nc; jr += kNr) {
    const int64_t nr = std::min<int64_t>(kNr, nc - jr);
    float* d = dst + jr * kc;
    for (int64_t p0 = 0; p0 < kc; p0 += 16) {
      const int64_t kk = std::min<int64_t>(16, kc - p0);
      for (int h = 0; h < kNv; ++h) {
        __m512 r[16];
        if (nr <= 16 * h) {
          for (int q = 0; q < kk; ++q)
            _mm512_store_ps(d + (p0 + q) * kNr + 16 * h, _mm512_setzero_ps());
          continue;
        }
        load_transposed(b + (jr + 16 * h) * ldb + p0, ldb, nr - 16 * h, kk, r);
        for (int q = 0; q < kk; ++q) _mm512_store_ps(d + (p0 + q) * kNr + 16 * h, r[q]);
      }
    }
  }
}

// C[0:M, 0:16*NV] (last vector masked by `tail`) = alpha * A @ B + beta * C, where A element
// (i, p) is pa[p*a_step + i] and B element (p, j) is pb[p*b_step + j].
template <int M, int NV>
void micro_tile(
    int64_t kc,
    const float* __restrict pa,
    int64_t a_step,
    const float* __restrict pb,
    int64_t b_step,
    float alpha,
    float beta,
    float* c,
    int64_t ldc,
    __mmask16 tail) {
  // Start fetching the C tile now; the k loop below hides the latency of the misses.
#pragma GCC unroll 16
  for (int i = 0; i < M; ++i) {
    prefetch(c + i * ldc, 0);
    prefetch(c + i * ldc, 16 * NV - 1);
  }
  __m512 acc[M][NV];
#pragma GCC unroll 16
  for (int i = 0; i < M; ++i) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
  }
  const bool full = tail == 0xFFFF;
  for (int64_t p = 0; p < kc; ++p) {
    // Direct (unpacked) operands are strided by a leading dimension, often a page or more
    // apart, where hardware prefetchers stop; fetch kPrefetchRows k-steps ahead in software.
    prefetch(pb, kPrefetchRows * b_step);
    prefetch(pb, kPrefetchRows * b_step + 16 * NV - 1);
    prefetch(pa, kPrefetchRows * a_step);
    __m512 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      // Only a direct B can end mid-vector; its last vector is loaded under the mask.
      bv[v] = v + 1 < NV || full ? _mm512_loadu_ps(pb + 16 * v)
                                 : _mm512_maskz_loadu_ps(tail, pb + 16 * v);
    }
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) {
      const __m512 av = _mm512_set1_ps(pa[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
    }
    pa += a_step;
    pb += b_step;
  }
  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
  const bool read_c = beta != 0.0f;
#pragma GCC unroll 16
  for (int i = 0; i < M; ++i) {
    float* row = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      __m512 t = _mm512_mul_ps(va, acc[i][v]);
      if (v + 1 < NV || full) {
        if (read_c)
          t = _mm512_fmadd_ps(vb, _mm512_loadu_ps(row + 16 * v), t);
        _mm512_storeu_ps(row + 16 * v, t);
      } else {
        if (read_c)
          t = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(tail, row + 16 * v), t);
        _mm512_mask_storeu_ps(row + 16 * v, tail, t);
      }
    }
  }
}

using TileFn = void (*)(
    int64_t,
    const float*,
    int64_t,
    const float*,
    int64_t,
    float,
    float,
    float*,
    int64_t,
    __mmask16);

template <int... I>
constexpr std::array<std::array<TileFn, kNv>, kMr> make_tiles(std::integer_sequence<int, I...>) {
  return {{{&micro_tile<I + 1, 1>, &micro_tile<I + 1, 2>}...}};
}
constexpr auto kTiles = make_tiles(std::make_integer_sequence<int, kMr>{});
static_assert(kNv == 2, "make_tiles lists NV = 1, 2");

void macro_kernel(
    int64_t mc,
    int64_t nc,
    int64_t kc,
    float alpha,
    PanelView a,
    PanelView b,
    float beta,
    float* c,
    int64_t ldc) {
  for (int64_t jr = 0; jr < nc; jr += kNr) {
    const int64_t nr = std::min<int64_t>(kNr, nc - jr);
    const float* pb = b.data + (jr / kNr) * b.panel_step;
    float* cj = c + jr;
    const int nv = static_cast<int>((nr + 15) / 16);
    const __mmask16 tail = lanes(nr - 16 * (nv - 1));
    int64_t ir = 0;
    if (nr == kNr) {
      for (; ir + kMr <= mc; ir += kMr) {
        micro_tile<kMr, kNv>(
            kc,
            a.data + (ir / kMr) * a.panel_step,
            a.k_step,
            pb,
            b.k_step,
            alpha,
            beta,
            cj + ir * ldc,
            ldc,
            tail);
      }
    }
    for (; ir < mc; ir += kMr) {
      const int64_t mr = std::min<int64_t>(kMr, mc - ir);
      kTiles[mr - 1][nv - 1](
          kc,
          a.data + (ir / kMr) * a.panel_step,
          a.k_step,
          pb,
          b.k_step,
          alpha,
          beta,
          cj + ir * ldc,
          ldc,
          tail);
    }
  }
}

}  // namespace

const SgemmKernel& sgemm_kernel_avx512() {
  static const SgemmKernel kernel{
      "avx512", kMr, kNr, 192, 512, 2048, true, &pack_a, &pack_b, &macro_kernel};
  return kernel;
}

}  // namespace peftcpp::cpu::gemm_detail
