// Kernel bodies shared by the per-ISA translation units (kernels_avx512.cpp, kernels_avx2.cpp),
// written against a vector traits class V:
//   using reg; W (lanes); kAlign (bytes for streaming stores);
//   loadu, load_partial(p, k, fill), storeu, store_partial(p, v, k), stream, set1,
//   add, sub, mul, div, max, min, fmadd, fnmadd, round, reduce_add, reduce_max,
//   exp<clamp_high>, exp_nonpositive (softmax's exp of x - max; may trade 1 ulp for speed).
// Everything has internal linkage (anonymous namespace), so each ISA TU owns its copy and no
// symbol compiled with -m flags can replace one used by the rest of the library. Only
// <cstdint> and intrinsics are used (no std:: inline functions or templates).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "tensor/cpu/simd/simd_kernels.h"

namespace peftcpp::cpu::simd {
namespace {

// Cephes expf: exp(x) = 2^n exp(r), n = round(x log2 e), r = x - n ln2 with ln2 = kLn2Hi + kLn2Lo
// (kLn2Hi has 9 significant bits, so n * kLn2Hi is exact for |n| < 2^15).
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;
constexpr float kExpP0 = 1.9875691500e-4f;
constexpr float kExpP1 = 1.3981999507e-3f;
constexpr float kExpP2 = 8.3334519073e-3f;
constexpr float kExpP3 = 4.1665795894e-2f;
constexpr float kExpP4 = 1.6666665459e-1f;
constexpr float kExpP5 = 5.0000001201e-1f;
// Inputs are clamped here: above, exp overflows to inf; below, it rounds to 0.
constexpr float kExpHi = 88.8f;
constexpr float kExpLo = -104.0f;
constexpr float kInf = __builtin_inff();

/// Clamps x, sets n = round(x log2 e) and returns exp(r), r = x - n ln2 in [-ln2/2, ln2/2], as
/// 1 + r (1 + r P(r)) in Horner form. `kClampHigh` = false skips the upper clamp for callers whose
/// inputs are <= 0 (softmax's x - max).
template <class V, bool kClampHigh = true>
inline typename V::reg exp_reduced(typename V::reg x, typename V::reg& n) {
  using R = typename V::reg;
  x = V::max(V::set1(kExpLo), x);  // NaN passes (the second operand is returned)
  if constexpr (kClampHigh)
    x = V::min(V::set1(kExpHi), x);
  n = V::round(V::mul(x, V::set1(kLog2e)));
  R r = V::fnmadd(n, V::set1(kLn2Hi), x);
  r = V::fnmadd(n, V::set1(kLn2Lo), r);
  R p = V::set1(kExpP0);
  p = V::fmadd(p, r, V::set1(kExpP1));
  p = V::fmadd(p, r, V::set1(kExpP2));
  p = V::fmadd(p, r, V::set1(kExpP3));
  p = V::fmadd(p, r, V::set1(kExpP4));
  p = V::fmadd(p, r, V::set1(kExpP5));
  p = V::fmadd(p, r, V::set1(1.0f));
  return V::fmadd(p, r, V::set1(1.0f));
}

/// Elements to process one by one before `p` is aligned for streaming stores.
template <class V>
inline std::int64_t head_until_aligned(const float* p, std::int64_t n) {
  const auto mis = static_cast<std::int64_t>(reinterpret_cast<std::uintptr_t>(p) % V::kAlign);
  if (mis % 4 != 0)
    return n;  // not even float-aligned: never stream
  const std::int64_t head = mis == 0 ? 0 : (V::kAlign - mis) / 4;
  return head < n ? head : n;
}

/// y[i] = f.full(i) / f.partial(i, k) for i in [0, n), with streaming stores if `nt`.
template <class V, class F>
inline void map_store(float* y, std::int64_t n, bool nt, const F& f) {
  constexpr std::int64_t W = V::W;
  std::int64_t i = 0;
  if (nt) {
    const std::int64_t head = head_until_aligned<V>(y, n);
    for (; i + W <= head; i += W) V::storeu(y + i, f.full(i));
    if (i < head) {
      V::store_partial(y + i, f.partial(i, head - i), head - i);
      i = head;
    }
    if (head < n) {
      for (; i + W <= n; i += W) V::stream(y + i, f.full(i));
    }
  }
  for (; i + W <= n; i += W) V::storeu(y + i, f.full(i));
  if (i < n)
    V::store_partial(y + i, f.partial(i, n - i), n - i);
  if (nt)
    _mm_sfence();
}

template <class V>
struct ExpMap {
  const float* x;
  typename V::reg full(std::int64_t i) const {
    return V::exp(V::loadu(x + i));
  }
  typename V::reg partial(std::int64_t i, std::int64_t k) const {
    return V::exp(V::load_partial(x + i, k, 0.0f));
  }
};

template <class V>
void exp_kernel(const float* x, float* y, std::int64_t n, bool nt) {
  map_store<V>(y, n, nt, ExpMap<V>{x});
}

template <class V, BinaryKind K, bool AScalar, bool BScalar>
struct BinaryMap {
  const float* a;
  const float* b;
  float alpha;
  typename V::reg combine(typename V::reg x, typename V::reg y) const {
    if constexpr (K == BinaryKind::Add)
      return V::add(x, V::mul(V::set1(alpha), y));
    if constexpr (K == BinaryKind::Sub)
      return V::sub(x, V::mul(V::set1(alpha), y));
    if constexpr (K == BinaryKind::Mul)
      return V::mul(x, y);
    if constexpr (K == BinaryKind::Div)
      return V::div(x, y);
  }
  typename V::reg full(std::int64_t i) const {
    return combine(
        AScalar ? V::set1(*a) : V::loadu(a + i), BScalar ? V::set1(*b) : V::loadu(b + i));
  }
  typename V::reg partial(std::int64_t i, std::int64_t k) const {
    // fill 1 keeps Div of the unused lanes quiet
    return combine(
        AScalar ? V::set1(*a) : V::load_partial(a + i, k, 1.0f),
        BScalar ? V::set1(*b) : V::load_partial(b + i, k, 1.0f));
  }
};

template <class V, BinaryKind K>
void binary_kind(
    const float* a,
    std::int64_t as,
    const float* b,
    std::int64_t bs,
    float* y,
    std::int64_t n,
    float alpha,
    bool nt) {
  if (as == 0 && bs != 0)
    return map_store<V>(y, n, nt, BinaryMap<V, K, true, false>{a, b, alpha});
  if (as != 0 && bs == 0)
    return map_store<V>(y, n, nt, BinaryMap<V, K, false, true>{a, b, alpha});
  if (as == 0 && bs == 0)
    return map_store<V>(y, n, nt, BinaryMap<V, K, true, true>{a, b, alpha});
  map_store<V>(y, n, nt, BinaryMap<V, K, false, false>{a, b, alpha});
}

template <class V>
void binary_kernel(
    BinaryKind kind,
    const float* a,
    std::int64_t as,
    const float* b,
    std::int64_t bs,
    float* y,
    std::int64_t n,
    float alpha,
    bool nt) {
  switch (kind) {
    case BinaryKind::Add:
      return binary_kind<V, BinaryKind::Add>(a, as, b, bs, y, n, alpha, nt);
    case BinaryKind::Sub:
      return binary_kind<V, BinaryKind::Sub>(a, as, b, bs, y, n, alpha, nt);
    case BinaryKind::Mul:
      return binary_kind<V, BinaryKind::Mul>(a, as, b, bs, y, n, alpha, nt);
    case BinaryKind::Div:
      return binary_kind<V, BinaryKind::Div>(a, as, b, bs, y, n, alpha, nt);
  }
}

// ---- softmax ------------------------------------------------------------------------------

template <class V>
float row_max(const float* x, std::int64_t n) {
  constexpr std::int64_t W = V::W;
  typename V::reg m0 = V::set1(-kInf), m1 = m0;
  std::int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    m0 = V::max(m0, V::loadu(x + i));
    m1 = V::max(m1, V::loadu(x + i + W));
  }
  for (; i + W <= n; i += W) m0 = V::max(m0, V::loadu(x + i));
  if (i < n)
    m1 = V::max(m1, V::load_partial(x + i, n - i, -kInf));
  return V::reduce_max(V::max(m0, m1));
}

/// sum of exp(x - m); stores the exponentials to e when e is not null. When `pf` is not null, the
/// same span of the next row is prefetched into L2 meanwhile, so that the next row's DRAM reads
/// overlap this row's arithmetic.
template <class V>
float row_sum_exp(const float* x, float* e, std::int64_t n, float m, const float* pf = nullptr) {
  constexpr std::int64_t W = V::W;
  const typename V::reg vm = V::set1(m);
  typename V::reg s0 = V::set1(0.0f), s1 = s0;
  std::int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    if (pf) {
      for (std::int64_t j = 0; j < 2 * W; j += 16) {
        _mm_prefetch(reinterpret_cast<const char*>(pf + i + j), _MM_HINT_T1);
      }
    }
    const typename V::reg e0 = V::exp_nonpositive(V::sub(V::loadu(x + i), vm));
    const typename V::reg e1 = V::exp_nonpositive(V::sub(V::loadu(x + i + W), vm));
    if (e) {
      V::storeu(e + i, e0);
      V::storeu(e + i + W, e1);
    }
    s0 = V::add(s0, e0);
    s1 = V::add(s1, e1);
  }
  for (; i + W <= n; i += W) {
    const typename V::reg e0 = V::exp_nonpositive(V::sub(V::loadu(x + i), vm));
    if (e)
      V::storeu(e + i, e0);
    s0 = V::add(s0, e0);
  }
  if (i < n) {
    const typename V::reg e0 = V::exp_nonpositive(V::sub(V::load_partial(x + i, n - i, -kInf), vm));
    if (e)
      V::store_partial(e + i, e0, n - i);
    s1 = V::add(s1, e0);
  }
  return V::reduce_add(V::add(s0, s1));
}

template <class V>
struct ScaleMap {
  const float* e;
  float inv;
  typename V::reg full(std::int64_t i) const {
    return V::mul(V::loadu(e + i), V::set1(inv));
  }
  typename V::reg partial(std::int64_t i, std::int64_t k) const {
    return V::mul(V::load_partial(e + i, k, 0.0f), V::set1(inv));
  }
};

template <class V>
struct ExpScaleMap {
  const float* x;
  float m, inv;
  typename V::reg full(std::int64_t i) const {
    return V::mul(V::exp_nonpositive(V::sub(V::loadu(x + i), V::set1(m))), V::set1(inv));
  }
  typename V::reg partial(std::int64_t i, std::int64_t k) const {
    return V::mul(
        V::exp_nonpositive(V::sub(V::load_partial(x + i, k, -kInf), V::set1(m))), V::set1(inv));
  }
};

template <class V>
struct LogMap {
  const float* x;
  float m, lse;
  typename V::reg full(std::int64_t i) const {
    return V::sub(V::sub(V::loadu(x + i), V::set1(m)), V::set1(lse));
  }
  typename V::reg partial(std::int64_t i, std::int64_t k) const {
    return V::sub(V::sub(V::load_partial(x + i, k, 0.0f), V::set1(m)), V::set1(lse));
  }
};

/// exp of one value x <= 0.
template <class V>
float scalar_exp(float x) {
  float out[V::W];
  V::storeu(out, V::exp_nonpositive(V::set1(x)));
  return out[0];
}

/// Max and sum of exp(x - max) in one pass over memory: blocks small enough to stay in L1 are
/// read twice (max, then exponentials), and the running sum is rescaled when the max grows.
template <class V>
void row_online_max_sum(const float* x, std::int64_t n, float& m_out, float& s_out) {
  constexpr std::int64_t kBlock = 2048;
  float m = -kInf, s = 0.0f;
  for (std::int64_t b = 0; b < n; b += kBlock) {
    const std::int64_t len = n - b < kBlock ? n - b : kBlock;
    const float bm = row_max<V>(x + b, len);
    if (bm > m) {
      if (m != -kInf)
        s *= scalar_exp<V>(m - bm);
      m = bm;
    }
    // while m is -inf the block holds only -inf (adds 0) or a NaN that max dropped (adds NaN)
    s += row_sum_exp<V>(x + b, nullptr, len, m == -kInf ? 0.0f : m);
  }
  m_out = m;
  s_out = s;
}

template <class V>
void softmax_row_kernel(
    const float* x,
    float* y,
    std::int64_t n,
    bool log,
    bool nt,
    float* scratch,
    const float* next) {
  if (n <= 0)
    return;
  float m, s;
  const bool short_row = n <= kSoftmaxScratchMax;
  float* e = nullptr;
  if (short_row) {
    m = row_max<V>(x, n);
    if (m == -kInf)
      m = 0.0f;  // all -inf: exps are 0, the sum 0, the row NaN (as PyTorch)
    e = log ? nullptr : (scratch ? scratch : y);
    s = row_sum_exp<V>(x, e, n, m, next);
  } else {
    row_online_max_sum<V>(x, n, m, s);
    if (m == -kInf)
      m = 0.0f;
  }
  if (log) {
    map_store<V>(y, n, nt, LogMap<V>{x, m, __builtin_logf(s)});
  } else if (e) {
    map_store<V>(y, n, nt && e != y, ScaleMap<V>{e, 1.0f / s});
  } else {
    map_store<V>(y, n, nt, ExpScaleMap<V>{x, m, 1.0f / s});
  }
}

template <class V>
void row_max_sum_exp_kernel(const float* x, std::int64_t n, float* max, float* sum) {
  float m = -kInf, s = 0.0f;
  if (n > 0)
    row_online_max_sum<V>(x, n, m, s);
  *max = m == -kInf ? 0.0f : m;
  *sum = s;
}

template <class V>
void exp_shift_scale_kernel(const float* x, float* y, std::int64_t n, float shift, float scale) {
  map_store<V>(y, n, false, ExpScaleMap<V>{x, shift, scale});
}

}  // namespace
}  // namespace peftcpp::cpu::simd
