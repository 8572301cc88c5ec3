// Fused rotary position embedding on [B, H, T, D] (HF's rotate_half convention, halves of D).
//
// Forward, h = D / 2: out[i] = x[i] c[i] - x[i + h] s[i] (i < h), x[i] c[i] + x[i - h] s[i] (i >= h).
// The transpose (the gradient map): out[i] = x[i] c[i] + x[i + h] s[i + h] (i < h),
// x[i] c[i] - x[i - h] s[i - h] (i >= h). One pass, any input strides, contiguous output, so the
// [B, T, H, D] -> [B, H, T, D] transpose of the projections comes for free.
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"

namespace peftcpp::cpu {
namespace {

// Unit: every last-dim stride is 1 (the usual case), which lets the compiler vectorise the rows.
template <typename T, bool Unit>
void rotary_typed(const TensorView& xv, const TensorView& cv, const TensorView& sv, const TensorView& ov,
                  bool transpose) {
  const std::int64_t B = xv.shape[0], H = xv.shape[1], T_ = xv.shape[2], D = xv.shape[3], h = D / 2;
  const T* x = static_cast<const T*>(xv.data);
  const T* c = static_cast<const T*>(cv.data);
  const T* s = static_cast<const T*>(sv.data);
  T* o = static_cast<T*>(ov.data);
  const std::int64_t rows = B * H * T_;
#pragma omp parallel for schedule(static) if (rows * D >= kParallelGrain && !omp_in_parallel())
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t t = r % T_, bh = r / T_, hh = bh % H, b = bh / H;
    const T* xr = x + b * xv.strides[0] + hh * xv.strides[1] + t * xv.strides[2];
    const T* cr = c + b * cv.strides[0] + t * cv.strides[1];
    const T* sr = s + b * sv.strides[0] + t * sv.strides[1];
    const std::int64_t xs = Unit ? 1 : xv.strides[3], cs = Unit ? 1 : cv.strides[2], ss = Unit ? 1 : sv.strides[2];
    T* orow = o + r * D;
    if (!transpose) {
      for (std::int64_t i = 0; i < h; ++i) orow[i] = xr[i * xs] * cr[i * cs] - xr[(i + h) * xs] * sr[i * ss];
      for (std::int64_t i = h; i < D; ++i) orow[i] = xr[i * xs] * cr[i * cs] + xr[(i - h) * xs] * sr[i * ss];
    } else {
      for (std::int64_t i = 0; i < h; ++i)
        orow[i] = xr[i * xs] * cr[i * cs] + xr[(i + h) * xs] * sr[(i + h) * ss];
      for (std::int64_t i = h; i < D; ++i)
        orow[i] = xr[i * xs] * cr[i * cs] - xr[(i - h) * xs] * sr[(i - h) * ss];
    }
  }
}

}  // namespace

void CpuBackend::rotary(const TensorView& x, const TensorView& cos, const TensorView& sin, const TensorView& out,
                        bool transpose) {
  const bool unit = x.strides[3] == 1 && cos.strides[2] == 1 && sin.strides[2] == 1;
  if (x.dtype == kFloat64) {
    (unit ? rotary_typed<double, true> : rotary_typed<double, false>)(x, cos, sin, out, transpose);
  } else {
    (unit ? rotary_typed<float, true> : rotary_typed<float, false>)(x, cos, sin, out, transpose);
  }
}

}  // namespace peftcpp::cpu
