// Softmax / log-softmax along one dim.
//
// float32, bfloat16, float16: one row at a time through the vectorised row kernel
// (tensor/cpu/simd): max, then exp(x - max) summed in float32 lanes, then the scaled (or
// log-shifted) output, so a row is read from memory once and written once (streaming stores for
// large outputs). Rows that are not contiguous float32 are gathered into a float buffer first,
// so the result does not depend on the layout or on the storage dtype's conversions.
// float64: scalar loops with double accumulation.
// log_softmax is (x - max) - log(sum): subtracting max + log(sum) in one go would lose the
// low bits of x - max for large |x|.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/reduce_plan.h"
#include "tensor/cpu/simd/simd_kernels.h"

namespace peftcpp::cpu {
namespace {

struct SoftmaxRows {
  Shape outer_shape;  // src shape with the softmax dim set to 1
  std::int64_t outer = 0, n = 0;
  std::int64_t src_step = 0, dst_step = 0;  // strides along the softmax dim
};

void softmax_f64(const TensorView& src, const TensorView& dst, const SoftmaxRows& r, bool log) {
  const double* s = static_cast<const double*>(src.data);
  double* d = static_cast<double*>(dst.data);
  const std::int64_t n = r.n, ss = r.src_step, ds = r.dst_step;
#pragma omp parallel for schedule(static) if (r.outer * n >= kParallelGrain && !omp_in_parallel())
  for (std::int64_t o = 0; o < r.outer; ++o) {
    const double* x = s + offset_of(o, r.outer_shape, src.strides);
    double* y = d + offset_of(o, r.outer_shape, dst.strides);
    double mx = -std::numeric_limits<double>::infinity();
    for (std::int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i * ss]);
    if (std::isinf(mx) && mx < 0)
      mx = 0;  // all -inf row: exp gives 0s, sum 0 -> NaN like PyTorch
    double sum = 0;
    for (std::int64_t i = 0; i < n; ++i) sum += std::exp(x[i * ss] - mx);
    if (log) {
      const double lse = std::log(sum);
      for (std::int64_t i = 0; i < n; ++i) y[i * ds] = (x[i * ss] - mx) - lse;
    } else {
      const double inv = 1.0 / sum;
      for (std::int64_t i = 0; i < n; ++i) y[i * ds] = std::exp(x[i * ss] - mx) * inv;
    }
  }
}

// T: float, Half or BFloat16.
template <typename T>
void softmax_via_kernel(
    const TensorView& src, const TensorView& dst, const SoftmaxRows& r, bool log) {
  const simd::KernelTable& k = simd::kernels();
  const std::int64_t n = r.n;
  const bool direct = std::is_same_v<T, float> && r.src_step == 1 && r.dst_step == 1;
  const bool nt =
      direct && r.outer * n * static_cast<std::int64_t>(sizeof(float)) >= simd::kNonTemporalBytes;
  // direct rows need a scratch row only to stream the output; others a row buffer to work in
  const bool need_buffer = !direct || (nt && n <= simd::kSoftmaxScratchMax);
  const T* s = static_cast<const T*>(src.data);
  T* d = static_cast<T*>(dst.data);
  const bool par = r.outer * n >= kParallelGrain && r.outer > 1 && !omp_in_parallel();
#pragma omp parallel if (par)
  {
    std::vector<float> buf(need_buffer ? static_cast<std::size_t>(n) : 0);
#pragma omp for schedule(static)
    for (std::int64_t o = 0; o < r.outer; ++o) {
      const T* x = s + offset_of(o, r.outer_shape, src.strides);
      T* y = d + offset_of(o, r.outer_shape, dst.strides);
      if constexpr (std::is_same_v<T, float>) {
        if (direct) {
          // rows of a static schedule are consecutive: prefetch the next one (a wasted prefetch
          // at the end of a thread's share is harmless)
          const float* next =
              o + 1 < r.outer ? s + offset_of(o + 1, r.outer_shape, src.strides) : nullptr;
          k.softmax_row(x, y, n, log, nt, need_buffer ? buf.data() : nullptr, next);
          continue;
        }
      }
      for (std::int64_t i = 0; i < n; ++i)
        buf[static_cast<std::size_t>(i)] = load(x + i * r.src_step);
      k.softmax_row(buf.data(), buf.data(), n, log, false, nullptr, nullptr);
      for (std::int64_t i = 0; i < n; ++i)
        store(y + i * r.dst_step, buf[static_cast<std::size_t>(i)]);
    }
  }
}

}  // namespace

void CpuBackend::softmax(const TensorView& src, const TensorView& dst, std::int64_t dim, bool log) {
  SoftmaxRows r;
  r.n = src.shape[static_cast<std::size_t>(dim)];
  r.outer_shape = src.shape;
  r.outer_shape[static_cast<std::size_t>(dim)] = 1;
  r.outer = shape_numel(r.outer_shape);
  r.src_step = src.strides[static_cast<std::size_t>(dim)];
  r.dst_step = dst.strides[static_cast<std::size_t>(dim)];
  if (r.n == 0 || r.outer == 0)
    return;
  dispatch_floating(src.dtype, "softmax", [&]<typename T>() {
    if constexpr (std::is_same_v<T, double>) {
      softmax_f64(src, dst, r, log);
    } else {
      softmax_via_kernel<T>(src, dst, r, log);
    }
  });
}

}  // namespace peftcpp::cpu
