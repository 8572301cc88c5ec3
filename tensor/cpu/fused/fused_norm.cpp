// Fused RMSNorm (forward and backward) and SwiGLU's silu(gate) * up, float32 and float64.
//
// RMSNorm y = w * x * r with r = (mean(x^2) + eps)^-1/2 per row; with u = g * w its gradient is
// gx = r * u - x * r^3 * mean(u * x) and gw = sum over rows of g * x * r. Row statistics are
// accumulated in double. silu(a) * b computes silu as a / (1 + exp(-a)) like torch, the exp
// through the vectorised kernel table in blocks.
#include <cmath>
#include <vector>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/simd/simd_kernels.h"

namespace peftcpp::cpu {
namespace {

std::int64_t rows_of(const TensorView& x) {
  if (x.shape.empty()) return 1;
  return x.shape.back() == 0 ? 0 : x.numel() / x.shape.back();
}

template <typename T>
void rms_norm_typed(const TensorView& xv, const TensorView& wv, double eps, const TensorView& yv,
                    const TensorView& rv) {
  const std::int64_t n = xv.shape.back(), rows = rows_of(xv);
  const T* x = static_cast<const T*>(xv.data);
  const T* w = static_cast<const T*>(wv.data);
  T* y = static_cast<T*>(yv.data);
  T* rs = static_cast<T*>(rv.data);
#pragma omp parallel for schedule(static) if (rows * n >= kParallelGrain && !omp_in_parallel())
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    double ss = 0;
    for (std::int64_t i = 0; i < n; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const T inv = static_cast<T>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
    rs[r] = inv;
    if (w != nullptr) {
      for (std::int64_t i = 0; i < n; ++i) yr[i] = w[i] * (xr[i] * inv);
    } else {
      for (std::int64_t i = 0; i < n; ++i) yr[i] = xr[i] * inv;
    }
  }
}

template <typename T>
void rms_norm_backward_typed(const TensorView& gv, const TensorView& xv, const TensorView& wv,
                             const TensorView& rv, const TensorView& gxv, const TensorView& gwv) {
  const std::int64_t n = xv.shape.back(), rows = rows_of(xv);
  const T* g = static_cast<const T*>(gv.data);
  const T* x = static_cast<const T*>(xv.data);
  const T* w = static_cast<const T*>(wv.data);
  const T* rs = static_cast<const T*>(rv.data);
  T* gx = static_cast<T*>(gxv.data);
  T* gw = static_cast<T*>(gwv.data);
  const bool par = rows * n >= kParallelGrain && !omp_in_parallel();
  const int nthreads = par ? omp_get_max_threads() : 1;
  // per-thread partial sums of the weight gradient, combined in thread order (deterministic)
  std::vector<double> partial(gw != nullptr ? static_cast<std::size_t>(nthreads * n) : 0, 0.0);
#pragma omp parallel num_threads(nthreads) if (par)
  {
    double* acc = gw != nullptr ? partial.data() + static_cast<std::int64_t>(omp_get_thread_num()) * n : nullptr;
#pragma omp for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* gr = g + r * n;
      const T* xr = x + r * n;
      T* gxr = gx + r * n;
      const double inv = rs[r];
      double dot = 0;
      if (w != nullptr) {
        for (std::int64_t i = 0; i < n; ++i) dot += static_cast<double>(gr[i]) * w[i] * xr[i];
      } else {
        for (std::int64_t i = 0; i < n; ++i) dot += static_cast<double>(gr[i]) * xr[i];
      }
      const T a = static_cast<T>(inv);
      const T b = static_cast<T>(inv * inv * inv * dot / static_cast<double>(n));
      if (w != nullptr) {
        for (std::int64_t i = 0; i < n; ++i) gxr[i] = a * (gr[i] * w[i]) - b * xr[i];
      } else {
        for (std::int64_t i = 0; i < n; ++i) gxr[i] = a * gr[i] - b * xr[i];
      }
      if (acc != nullptr) {
        for (std::int64_t i = 0; i < n; ++i) acc[i] += static_cast<double>(gr[i]) * xr[i] * inv;
      }
    }
  }
  if (gw != nullptr) {
    for (std::int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int t = 0; t < nthreads; ++t) s += partial[static_cast<std::size_t>(t * n + i)];
      gw[i] = static_cast<T>(s);
    }
  }
}

// Elements per block of the silu kernels (the exp scratch lives on the stack).
constexpr std::int64_t kBlock = 1024;

// e[i] = exp(-a[i]) for one block.
void neg_exp(const float* a, float* e, std::int64_t m) {
  for (std::int64_t i = 0; i < m; ++i) e[i] = -a[i];
  simd::kernels().exp(e, e, m, false);
}
void neg_exp(const double* a, double* e, std::int64_t m) {
  for (std::int64_t i = 0; i < m; ++i) e[i] = std::exp(-a[i]);
}

template <typename T>
void silu_mul_typed(const TensorView& av, const TensorView& bv, const TensorView& ov) {
  const std::int64_t total = av.numel(), blocks = (total + kBlock - 1) / kBlock;
  const T* a = static_cast<const T*>(av.data);
  const T* b = static_cast<const T*>(bv.data);
  T* o = static_cast<T*>(ov.data);
#pragma omp parallel for schedule(static) if (total >= kParallelGrain && !omp_in_parallel())
  for (std::int64_t blk = 0; blk < blocks; ++blk) {
    const std::int64_t lo = blk * kBlock, m = std::min(kBlock, total - lo);
    T e[kBlock];
    neg_exp(a + lo, e, m);
    for (std::int64_t i = 0; i < m; ++i) o[lo + i] = a[lo + i] / (T(1) + e[i]) * b[lo + i];
  }
}

template <typename T>
void silu_mul_backward_typed(const TensorView& gv, const TensorView& av, const TensorView& bv,
                             const TensorView& dav, const TensorView& dbv) {
  const std::int64_t total = av.numel(), blocks = (total + kBlock - 1) / kBlock;
  const T* g = static_cast<const T*>(gv.data);
  const T* a = static_cast<const T*>(av.data);
  const T* b = static_cast<const T*>(bv.data);
  T* da = static_cast<T*>(dav.data);
  T* db = static_cast<T*>(dbv.data);
#pragma omp parallel for schedule(static) if (total >= kParallelGrain && !omp_in_parallel())
  for (std::int64_t blk = 0; blk < blocks; ++blk) {
    const std::int64_t lo = blk * kBlock, m = std::min(kBlock, total - lo);
    T e[kBlock];
    neg_exp(a + lo, e, m);
    for (std::int64_t i = 0; i < m; ++i) {
      const T x = a[lo + i], s = T(1) / (T(1) + e[i]), gi = g[lo + i];
      if (db != nullptr) db[lo + i] = gi * (x * s);
      if (da != nullptr) da[lo + i] = gi * b[lo + i] * (s * (T(1) + x * (T(1) - s)));
    }
  }
}

}  // namespace

bool CpuBackend::has_fused(FusedOp, DType dtype) const {
  return dtype == kFloat32 || dtype == kFloat64;
}

void CpuBackend::rms_norm(const TensorView& x, const TensorView& w, double eps, const TensorView& y,
                          const TensorView& rstd) {
  if (x.dtype == kFloat64) {
    rms_norm_typed<double>(x, w, eps, y, rstd);
  } else {
    rms_norm_typed<float>(x, w, eps, y, rstd);
  }
}

void CpuBackend::rms_norm_backward(const TensorView& g, const TensorView& x, const TensorView& w,
                                   const TensorView& rstd, const TensorView& gx, const TensorView& gw) {
  if (x.dtype == kFloat64) {
    rms_norm_backward_typed<double>(g, x, w, rstd, gx, gw);
  } else {
    rms_norm_backward_typed<float>(g, x, w, rstd, gx, gw);
  }
}

void CpuBackend::silu_mul(const TensorView& gate, const TensorView& up, const TensorView& out) {
  if (gate.dtype == kFloat64) {
    silu_mul_typed<double>(gate, up, out);
  } else {
    silu_mul_typed<float>(gate, up, out);
  }
}

void CpuBackend::silu_mul_backward(const TensorView& g, const TensorView& gate, const TensorView& up,
                                   const TensorView& d_gate, const TensorView& d_up) {
  if (gate.dtype == kFloat64) {
    silu_mul_backward_typed<double>(g, gate, up, d_gate, d_up);
  } else {
    silu_mul_backward_typed<float>(g, gate, up, d_gate, d_up);
  }
}

}  // namespace peftcpp::cpu
