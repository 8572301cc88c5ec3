// Fused rotary position embedding on x [B, H, T, D] (any strides) into a contiguous out, HF's
// rotate_half convention (halves of D), with the CPU kernel's formulas
// (tensor/cpu/fused/fused_rotary.cpp), h = D / 2:
//   forward:   out[i] = x[i] c[i] - x[i + h] s[i] (i < h),  x[i] c[i] + x[i - h] s[i] (i >= h)
//   transpose: out[i] = x[i] c[i] + x[i + h] s[i + h] (i < h), x[i] c[i] - x[i - h] s[i - h] (i >= h)
// cos/sin are [B, T, D] views (stride 0 on a broadcast batch). One thread per output element.
#include "cuda/kernels/elementwise.cuh"
#include "cuda/kernels/kernels.h"

namespace peftcpp::cuda::kernels {
namespace {

struct RotaryGeometry {
  std::int64_t B, H, T, D;
  std::int64_t xs[4], cs[3], ss[3];
};

template <typename T>
__global__ void __launch_bounds__(kBlock) rotary_kernel(RotaryGeometry geo, const T* x, const T* c, const T* s, T* out,
                                                        bool transpose) {
  const std::int64_t total = geo.B * geo.H * geo.T * geo.D, h = geo.D / 2;
  const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t o = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += step) {
    const std::int64_t i = o % geo.D, r = o / geo.D;
    const std::int64_t t = r % geo.T, bh = r / geo.T, hh = bh % geo.H, b = bh / geo.H;
    const T* xr = x + b * geo.xs[0] + hh * geo.xs[1] + t * geo.xs[2];
    const T* cr = c + b * geo.cs[0] + t * geo.cs[1];
    const T* sr = s + b * geo.ss[0] + t * geo.ss[1];
    const T xi = xr[i * geo.xs[3]] * cr[i * geo.cs[2]];
    T v;
    if (!transpose) {
      v = i < h ? xi - xr[(i + h) * geo.xs[3]] * sr[i * geo.ss[2]] : xi + xr[(i - h) * geo.xs[3]] * sr[i * geo.ss[2]];
    } else {
      v = i < h ? xi + xr[(i + h) * geo.xs[3]] * sr[(i + h) * geo.ss[2]]
                : xi - xr[(i - h) * geo.xs[3]] * sr[(i - h) * geo.ss[2]];
    }
    out[o] = v;
  }
}

}  // namespace

void rotary(const TensorView& x, const TensorView& cos, const TensorView& sin, const TensorView& out, bool transpose,
            cudaStream_t stream) {
  RotaryGeometry geo{x.shape[0], x.shape[1], x.shape[2], x.shape[3], {}, {}, {}};
  for (int k = 0; k < 4; ++k) geo.xs[k] = x.strides[static_cast<std::size_t>(k)];
  for (int k = 0; k < 3; ++k) {
    geo.cs[k] = cos.strides[static_cast<std::size_t>(k)];
    geo.ss[k] = sin.strides[static_cast<std::size_t>(k)];
  }
  const std::int64_t total = geo.B * geo.H * geo.T * geo.D;
  if (total == 0) return;
  auto run = [&]<typename T>() {
    rotary_kernel<T><<<grid_for(total), kBlock, 0, stream>>>(geo, static_cast<const T*>(x.data),
                                                             static_cast<const T*>(cos.data),
                                                             static_cast<const T*>(sin.data), static_cast<T*>(out.data),
                                                             transpose);
  };
  if (x.dtype == DType::Float32) {
    run.template operator()<float>();
  } else if (x.dtype == DType::Float64) {
    run.template operator()<double>();
  } else {
    throw DeviceError(std::string("[rotary] the CUDA fused kernel takes float32 or float64, got ") + dtype_name(x.dtype));
  }
  PEFTCPP_CUDA_CHECK_LAUNCH("rotary");
}

}  // namespace peftcpp::cuda::kernels
