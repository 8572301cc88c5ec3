// AVX-512 (F + DQ) kernel table. Compiled with -mavx512f -mavx512dq -mfma into its own static
// library; reached only through simd::kernels() after a CPU check.
#include "tensor/cpu/simd/kernels_impl.h"

namespace peftcpp::cpu::simd {
namespace {

struct Avx512 {
  using reg = __m512;
  static constexpr std::int64_t W = 16;
  static constexpr std::int64_t kAlign = 64;
  static __mmask16 mask(std::int64_t k) {
    return static_cast<__mmask16>((1u << k) - 1u);
  }
  static reg loadu(const float* p) {
    return _mm512_loadu_ps(p);
  }
  static reg load_partial(const float* p, std::int64_t k, float fill) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), mask(k), p);
  }
  static void storeu(float* p, reg v) {
    _mm512_storeu_ps(p, v);
  }
  static void store_partial(float* p, reg v, std::int64_t k) {
    _mm512_mask_storeu_ps(p, mask(k), v);
  }
  static void stream(float* p, reg v) {
    _mm512_stream_ps(p, v);
  }
  static reg set1(float v) {
    return _mm512_set1_ps(v);
  }
  static reg add(reg a, reg b) {
    return _mm512_add_ps(a, b);
  }
  static reg sub(reg a, reg b) {
    return _mm512_sub_ps(a, b);
  }
  static reg mul(reg a, reg b) {
    return _mm512_mul_ps(a, b);
  }
  static reg div(reg a, reg b) {
    return _mm512_div_ps(a, b);
  }
  static reg max(reg a, reg b) {
    return _mm512_max_ps(a, b);
  }
  static reg min(reg a, reg b) {
    return _mm512_min_ps(a, b);
  }
  static reg fmadd(reg a, reg b, reg c) {
    return _mm512_fmadd_ps(a, b, c);
  }
  static reg fnmadd(reg a, reg b, reg c) {
    return _mm512_fnmadd_ps(a, b, c);
  }
  static reg round(reg v) {
    return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static float reduce_add(reg v) {
    return _mm512_reduce_add_ps(v);
  }
  static float reduce_max(reg v) {
    return _mm512_reduce_max_ps(v);
  }
  /// exp(x); kClampHigh = false when every x is <= 0 or NaN.
  template <bool kClampHigh = true>
  static reg exp(reg x) {
    reg n;
    const reg p = exp_reduced<Avx512, kClampHigh>(x, n);
    return _mm512_scalef_ps(p, n);  // p * 2^n with one rounding, overflow to inf, subnormals
  }
  /// exp(x) for x <= 0 (or NaN), for softmax: fewer multiplies than exp() (8 on the FMA ports
  /// instead of 11), max error 2 ulp. x log2 e is rounded to k/16 by adding 1.5 * 2^19 (whose
  /// float ulp is 1/16), so the low 4 mantissa bits of the sum are k mod 16 and index a
  /// 16-entry table of 2^(j/16) held in one register; exp(r) for |r| <= ln2/32 is a cubic.
  static reg exp_nonpositive(reg x) {
    const reg magic = _mm512_set1_ps(786432.0f);  // 1.5 * 2^19
    // 2^(j/16) rounded to float
    const reg table = _mm512_setr_ps(
        0x1.000000p+0f,
        0x1.0b5586p+0f,
        0x1.172b84p+0f,
        0x1.2387a6p+0f,
        0x1.306fe0p+0f,
        0x1.3dea64p+0f,
        0x1.4bfdaep+0f,
        0x1.5ab07ep+0f,
        0x1.6a09e6p+0f,
        0x1.7a1148p+0f,
        0x1.8ace54p+0f,
        0x1.9c4918p+0f,
        0x1.ae89fap+0f,
        0x1.c199bep+0f,
        0x1.d5818ep+0f,
        0x1.ea4afap+0f);
    x = _mm512_max_ps(_mm512_set1_ps(kExpLo), x);  // NaN passes
    const reg t = _mm512_fmadd_ps(x, _mm512_set1_ps(kLog2e), magic);
    const reg k16 = _mm512_sub_ps(t, magic);  // k / 16
    reg r = _mm512_fnmadd_ps(k16, _mm512_set1_ps(kLn2Hi), x);
    r = _mm512_fnmadd_ps(k16, _mm512_set1_ps(kLn2Lo), r);
    reg p = _mm512_fmadd_ps(_mm512_set1_ps(1.0f / 6.0f), r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    const reg tj = _mm512_permutexvar_ps(_mm512_castps_si512(t), table);
    return _mm512_scalef_ps(_mm512_mul_ps(p, tj), k16);  // 2^floor(k/16) * 2^(j/16) * exp(r)
  }
};

void exp_avx512(const float* x, float* y, std::int64_t n, bool nt) {
  exp_kernel<Avx512>(x, y, n, nt);
}
void binary_avx512(
    BinaryKind kind,
    const float* a,
    std::int64_t as,
    const float* b,
    std::int64_t bs,
    float* y,
    std::int64_t n,
    float alpha,
    bool nt) {
  binary_kernel<Avx512>(kind, a, as, b, bs, y, n, alpha, nt);
}
void softmax_row_avx512(
    const float* x,
    float* y,
    std::int64_t n,
    bool log,
    bool nt,
    float* scratch,
    const float* next) {
  softmax_row_kernel<Avx512>(x, y, n, log, nt, scratch, next);
}

void row_max_sum_exp_avx512(const float* x, std::int64_t n, float* max, float* sum) {
  row_max_sum_exp_kernel<Avx512>(x, n, max, sum);
}
void exp_shift_scale_avx512(const float* x, float* y, std::int64_t n, float shift, float scale) {
  exp_shift_scale_kernel<Avx512>(x, y, n, shift, scale);
}

}  // namespace

namespace detail {
const KernelTable avx512_kernel_table = {"avx512", exp_avx512, binary_avx512, softmax_row_avx512,
                                          row_max_sum_exp_avx512, exp_shift_scale_avx512};
}  // namespace detail

}  // namespace peftcpp::cpu::simd
