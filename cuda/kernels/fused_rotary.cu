// Rotary position embedding on CUDA (HF's rotate_half convention, halves of D), one thread per
// output element of the contiguous [B, H, T, D] result; x and the cos/sin tables are read
// through their strides (stride 0 broadcasts a table over the batch).
//
// Forward, h = D / 2: out[i] = x[i] c[i] - x[i + h] s[i] (i < h), x[i] c[i] + x[i - h] s[i] (i >=
// h). Transpose: out[i] = x[i] c[i] + x[i + h] s[i + h] (i < h), x[i] c[i] - x[i - h] s[i - h] (i
// >= h).
#include "cuda/kernels/fused.h"
#include "cuda/kernels/fused_common.cuh"

namespace peftcpp::cuda {
namespace {

using namespace fused_detail;

template <typename T>
__global__ void rotary_kernel(
    const T* __restrict__ x,
    const T* __restrict__ c,
    const T* __restrict__ s,
    T* __restrict__ out,
    RotaryGeometry geo,
    bool transpose,
    std::int64_t total) {
  using A = acc_t<T>;
  const std::int64_t D = geo.dim, h = D / 2;
  for (std::int64_t idx = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
       idx < total;
       idx += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = idx % D, r = idx / D;
    const std::int64_t t = r % geo.seq, bh = r / geo.seq, hh = bh % geo.heads, b = bh / geo.heads;
    const T* xr = x + b * geo.x_strides[0] + hh * geo.x_strides[1] + t * geo.x_strides[2];
    const T* cr = c + b * geo.cos_strides[0] + t * geo.cos_strides[1];
    const T* sr = s + b * geo.sin_strides[0] + t * geo.sin_strides[1];
    const std::int64_t xs = geo.x_strides[3], cs = geo.cos_strides[2], ss = geo.sin_strides[2];
    const A xc = load(xr + i * xs) * load(cr + i * cs);
    A v;
    if (!transpose) {
      v = i < h ? xc - load(xr + (i + h) * xs) * load(sr + i * ss)
                : xc + load(xr + (i - h) * xs) * load(sr + i * ss);
    } else {
      v = i < h ? xc + load(xr + (i + h) * xs) * load(sr + (i + h) * ss)
                : xc - load(xr + (i - h) * xs) * load(sr + (i - h) * ss);
    }
    store(out + idx, v);
  }
}

}  // namespace

void launch_rotary(
    const void* x,
    const void* cos,
    const void* sin,
    void* out,
    const RotaryGeometry& geometry,
    bool transpose,
    DType dtype,
    void* stream) {
  dispatch_float(dtype, "rotary", [&](auto tag) {
    using T = decltype(tag);
    const std::int64_t total = geometry.batch * geometry.heads * geometry.seq * geometry.dim;
    if (total == 0)
      return;
    constexpr unsigned kThreads = 256;
    rotary_kernel<T>
        <<<grid_blocks((total + kThreads - 1) / kThreads), kThreads, 0, as_stream(stream)>>>(
            static_cast<const T*>(x),
            static_cast<const T*>(cos),
            static_cast<const T*>(sin),
            static_cast<T*>(out),
            geometry,
            transpose,
            total);
    PEFTCPP_CUDA_CHECK_LAUNCH("rotary");
  });
}

}  // namespace peftcpp::cuda
