// AVX2+FMA sgemm kernel: 6x16 register tile (12 ymm accumulators + 2 B vectors + 1 broadcast,
// the classic Haswell shape for 16 ymm registers), scalar packing, masked edges. Compiled with
// -mavx2 -mfma in its own static library; gemm.cpp only calls it after __builtin_cpu_supports.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "tensor/cpu/gemm/kernel.h"
#include "tensor/cpu/gemm/pack_scalar.h"

namespace peftcpp::cpu::gemm_detail {
namespace {

constexpr int kMr = 6;
constexpr int kNr = 16;
constexpr int kNv = kNr / 8;
constexpr int64_t kPrefetchRows = 4;

// Prefetches the line holding p[offset]. The address is formed in integers: near the end of an
// operand it may lie past the array, which a prefetch tolerates but pointer arithmetic must not.
inline void prefetch(const float* p, int64_t offset) {
  const auto address =
      reinterpret_cast<std::uintptr_t>(p) + static_cast<std::uintptr_t>(offset) * sizeof(float);
  _mm_prefetch(reinterpret_cast<const char*>(address), _MM_HINT_T0);
}

// Lane mask for maskload/maskstore: lanes [0, count) set, count clamped to [0, 8].
inline __m256i lanes(int64_t count) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const int n = static_cast<int>(std::clamp<int64_t>(count, 0, 8));
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

// C[0:M, 0:8*NV] (last vector limited to `tail_count` lanes) = alpha * A @ B + beta * C, where
// A element (i, p) is pa[p*a_step + i] and B element (p, j) is pb[p*b_step + j].
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
    int tail_count) {
  // Start fetching the C tile now; the k loop below hides the latency of the misses.
#pragma GCC unroll 8
  for (int i = 0; i < M; ++i) {
    prefetch(c + i * ldc, 0);
    prefetch(c + i * ldc, 8 * NV - 1);
  }
  __m256 acc[M][NV];
#pragma GCC unroll 8
  for (int i = 0; i < M; ++i) {
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_setzero_ps();
  }
  const bool full = tail_count == 8;
  const __m256i tail = lanes(tail_count);
  for (int64_t p = 0; p < kc; ++p) {
    // Direct (unpacked) operands are strided by a leading dimension: prefetch a few k ahead.
    prefetch(pb, kPrefetchRows * b_step);
    prefetch(pa, kPrefetchRows * a_step);
    __m256 bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      // Only a direct B can end mid-vector; its last vector is loaded under the mask.
      bv[v] =
          v + 1 < NV || full ? _mm256_loadu_ps(pb + 8 * v) : _mm256_maskload_ps(pb + 8 * v, tail);
    }
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i) {
      const __m256 av = _mm256_broadcast_ss(pa + i);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
    }
    pa += a_step;
    pb += b_step;
  }
  const __m256 va = _mm256_set1_ps(alpha);
  const __m256 vb = _mm256_set1_ps(beta);
  const bool read_c = beta != 0.0f;
#pragma GCC unroll 8
  for (int i = 0; i < M; ++i) {
    float* row = c + i * ldc;
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      __m256 t = _mm256_mul_ps(va, acc[i][v]);
      if (v + 1 < NV || full) {
        if (read_c)
          t = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row + 8 * v), t);
        _mm256_storeu_ps(row + 8 * v, t);
      } else {
        if (read_c)
          t = _mm256_fmadd_ps(vb, _mm256_maskload_ps(row + 8 * v, tail), t);
        _mm256_maskstore_ps(row + 8 * v, tail, t);
      }
    }
  }
}

using TileFn = void (*)(
    int64_t, const float*, int64_t, const float*, int64_t, float, float, float*, int64_t, int);

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
    const int nv = static_cast<int>((nr + 7) / 8);
    const int tail = static_cast<int>(nr - 8 * (nv - 1));
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
            8);
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

const SgemmKernel& sgemm_kernel_avx2() {
  static const SgemmKernel kernel{
      "avx2",
      kMr,
      kNr,
      144,
      512,
      2048,
      true,
      &pack_a_scalar<kMr>,
      &pack_b_scalar<kNr>,
      &macro_kernel};
  return kernel;
}

}  // namespace peftcpp::cpu::gemm_detail
