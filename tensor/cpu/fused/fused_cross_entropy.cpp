// Fused cross-entropy rows: log-sum-exp and the picked logit in one read of each row, and the
// gradient scale * (softmax - onehot) in one write; float32 through the vectorised kernels of
// the table (an online max and sum of exponentials per row), float64 in scalar double.
#include <cmath>
#include <limits>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/simd/simd_kernels.h"

namespace peftcpp::cpu {
namespace {

// log(sum(exp(x))) of one row.
float row_lse(const float* x, std::int64_t n) {
  float m = 0, s = 0;
  simd::kernels().row_max_sum_exp(x, n, &m, &s);
  return m + std::log(s);
}
double row_lse(const double* x, std::int64_t n) {
  double m = -std::numeric_limits<double>::infinity();
  for (std::int64_t i = 0; i < n; ++i) m = x[i] > m || std::isnan(x[i]) ? x[i] : m;
  if (std::isinf(m) && m < 0) m = 0;  // an all -inf row: the sum is 0 and lse -inf
  double s = 0;
  for (std::int64_t i = 0; i < n; ++i) s += std::exp(x[i] - m);
  return m + std::log(s);
}

// y[i] = scale * exp(x[i] - lse)
void scaled_exp(const float* x, std::int64_t n, float lse, float scale, float* y) {
  simd::kernels().exp_shift_scale(x, y, n, lse, scale);
}
void scaled_exp(const double* x, std::int64_t n, double lse, double scale, double* y) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = scale * std::exp(x[i] - lse);
}

template <typename T>
void cross_entropy_typed(const TensorView& xv, const TensorView& tv, std::int64_t ignore, const TensorView& lv,
                         const TensorView& sv) {
  const std::int64_t m = xv.shape[0], n = xv.shape[1];
  const T* x = static_cast<const T*>(xv.data);
  const std::int64_t* t = static_cast<const std::int64_t*>(tv.data);
  T* loss = static_cast<T*>(lv.data);
  T* lse = static_cast<T*>(sv.data);
#pragma omp parallel for schedule(static) if (m * n >= kParallelGrain && m > 1 && !omp_in_parallel())
  for (std::int64_t r = 0; r < m; ++r) {
    if (t[r] == ignore) {
      loss[r] = 0;
      lse[r] = 0;
      continue;
    }
    const T* xr = x + r * n;
    const T l = row_lse(xr, n);
    lse[r] = l;
    loss[r] = l - xr[t[r]];
  }
}

template <typename T>
void cross_entropy_backward_typed(const TensorView& xv, const TensorView& tv, std::int64_t ignore,
                                  const TensorView& sv, const TensorView& scv, const TensorView& gv) {
  const std::int64_t m = xv.shape[0], n = xv.shape[1];
  const T* x = static_cast<const T*>(xv.data);
  const std::int64_t* t = static_cast<const std::int64_t*>(tv.data);
  const T* lse = static_cast<const T*>(sv.data);
  const T* scale = static_cast<const T*>(scv.data);
  const std::int64_t scale_step = scv.numel() == 1 ? 0 : 1;
  T* g = static_cast<T*>(gv.data);
#pragma omp parallel for schedule(static) if (m * n >= kParallelGrain && m > 1 && !omp_in_parallel())
  for (std::int64_t r = 0; r < m; ++r) {
    T* gr = g + r * n;
    if (t[r] == ignore) {
      for (std::int64_t i = 0; i < n; ++i) gr[i] = 0;
      continue;
    }
    const T sc = scale[r * scale_step];
    scaled_exp(x + r * n, n, lse[r], sc, gr);
    gr[t[r]] -= sc;
  }
}

}  // namespace

void CpuBackend::cross_entropy(const TensorView& logits, const TensorView& target, std::int64_t ignore_index,
                               const TensorView& loss, const TensorView& lse) {
  if (logits.dtype == kFloat64) {
    cross_entropy_typed<double>(logits, target, ignore_index, loss, lse);
  } else {
    cross_entropy_typed<float>(logits, target, ignore_index, loss, lse);
  }
}

void CpuBackend::cross_entropy_backward(const TensorView& logits, const TensorView& target,
                                        std::int64_t ignore_index, const TensorView& lse, const TensorView& scale,
                                        const TensorView& grad) {
  if (logits.dtype == kFloat64) {
    cross_entropy_backward_typed<double>(logits, target, ignore_index, lse, scale, grad);
  } else {
    cross_entropy_backward_typed<float>(logits, target, ignore_index, lse, scale, grad);
  }
}

}  // namespace peftcpp::cpu
