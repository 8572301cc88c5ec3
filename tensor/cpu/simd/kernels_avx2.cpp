// AVX2 + FMA kernel table. Compiled with -mavx2 -mfma into its own static library; reached only
// through simd::kernels() after a CPU check.
#include "tensor/cpu/simd/kernels_impl.h"

namespace peftcpp::cpu::simd {
namespace {

struct Avx2 {
  using reg = __m256;
  static constexpr std::int64_t W = 8;
  static constexpr std::int64_t kAlign = 32;
  static __m256i mask(std::int64_t k) {
    return _mm256_cmpgt_epi32(
        _mm256_set1_epi32(static_cast<int>(k)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static reg loadu(const float* p) {
    return _mm256_loadu_ps(p);
  }
  static reg load_partial(const float* p, std::int64_t k, float fill) {
    const __m256i m = mask(k);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
  }
  static void storeu(float* p, reg v) {
    _mm256_storeu_ps(p, v);
  }
  static void store_partial(float* p, reg v, std::int64_t k) {
    _mm256_maskstore_ps(p, mask(k), v);
  }
  static void stream(float* p, reg v) {
    _mm256_stream_ps(p, v);
  }
  static reg set1(float v) {
    return _mm256_set1_ps(v);
  }
  static reg add(reg a, reg b) {
    return _mm256_add_ps(a, b);
  }
  static reg sub(reg a, reg b) {
    return _mm256_sub_ps(a, b);
  }
  static reg mul(reg a, reg b) {
    return _mm256_mul_ps(a, b);
  }
  static reg div(reg a, reg b) {
    return _mm256_div_ps(a, b);
  }
  static reg max(reg a, reg b) {
    return _mm256_max_ps(a, b);
  }
  static reg min(reg a, reg b) {
    return _mm256_min_ps(a, b);
  }
  static reg fmadd(reg a, reg b, reg c) {
    return _mm256_fmadd_ps(a, b, c);
  }
  static reg fnmadd(reg a, reg b, reg c) {
    return _mm256_fnmadd_ps(a, b, c);
  }
  static reg round(reg v) {
    return _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static float reduce_add(reg v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float reduce_max(reg v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  /// exp(x); kClampHigh = false when every x is <= 0 or NaN.
  template <bool kClampHigh = true>
  static reg exp(reg x) {
    reg n;
    const reg p = exp_reduced<Avx2, kClampHigh>(x, n);
    // 2^n as 2^(n/2) * 2^(n - n/2): both factors are normal for n in [-150, 128], so subnormal
    // results are rounded once (by the second multiply) and n = 128 still overflows to inf.
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i n1 = _mm256_srai_epi32(ni, 1);
    const __m256i n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const reg f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const reg f2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, f1), f2);
  }
  static reg exp_nonpositive(reg x) {
    return exp<false>(x);
  }
};

void exp_avx2(const float* x, float* y, std::int64_t n, bool nt) {
  exp_kernel<Avx2>(x, y, n, nt);
}
void binary_avx2(
    BinaryKind kind,
    const float* a,
    std::int64_t as,
    const float* b,
    std::int64_t bs,
    float* y,
    std::int64_t n,
    float alpha,
    bool nt) {
  binary_kernel<Avx2>(kind, a, as, b, bs, y, n, alpha, nt);
}
void softmax_row_avx2(
    const float* x,
    float* y,
    std::int64_t n,
    bool log,
    bool nt,
    float* scratch,
    const float* next) {
  softmax_row_kernel<Avx2>(x, y, n, log, nt, scratch, next);
}

void row_max_sum_exp_avx2(const float* x, std::int64_t n, float* max, float* sum) {
  row_max_sum_exp_kernel<Avx2>(x, n, max, sum);
}
void exp_shift_scale_avx2(const float* x, float* y, std::int64_t n, float shift, float scale) {
  exp_shift_scale_kernel<Avx2>(x, y, n, shift, scale);
}

}  // namespace

namespace detail {
const KernelTable avx2_kernel_table = {"avx2", exp_avx2, binary_avx2, softmax_row_avx2,
                                          row_max_sum_exp_avx2, exp_shift_scale_avx2};
}  // namespace detail

}  // namespace peftcpp::cpu::simd
