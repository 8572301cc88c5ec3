// RMSNorm forward and backward on CUDA: one block per row (grid-stride over rows), float32
// accumulation for float32/bfloat16/float16 storage, double for float64, warp-shuffle block sums.
// The weight gradient is summed per block into a workspace row and reduced over blocks by a
// second kernel in block order: deterministic, no float atomics.
#include "cuda/kernels/fused.h"
#include "cuda/kernels/fused_common.cuh"

namespace peftcpp::cuda {
namespace {

using namespace fused_detail;

// Blocks of the backward kernel (and rows of its partial-sum workspace): fixed by the row count
// alone, so the summation order never depends on the device.
constexpr std::int64_t kMaxBackwardBlocks = 512;

std::int64_t backward_blocks(std::int64_t rows) {
  return rows < kMaxBackwardBlocks ? rows : kMaxBackwardBlocks;
}

std::size_t acc_size(DType dtype) {
  return dtype == DType::Float64 ? sizeof(double) : sizeof(float);
}

template <typename T>
__global__ void rms_norm_kernel(
    const T* __restrict__ x,
    const T* __restrict__ w,
    acc_t<T> eps,
    T* __restrict__ y,
    acc_t<T>* __restrict__ rstd,
    std::int64_t rows,
    std::int64_t n) {
  using A = acc_t<T>;
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    A ss = 0;
    for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      const A v = load(xr + i);
      ss += v * v;
    }
    ss = block_sum(ss);
    const A inv = A(1) / sqrt(ss / static_cast<A>(n) + eps);
    if (threadIdx.x == 0)
      rstd[r] = inv;
    for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      const A v = load(xr + i) * inv;
      store(yr + i, w != nullptr ? load(w + i) * v : v);
    }
  }
}

// gx per row; with `partial` non-null, block b also sums g * x * rstd over its rows into
// partial[b * n + i] (each column owned by one thread: no races).
template <typename T>
__global__ void rms_norm_backward_kernel(
    const T* __restrict__ g,
    const T* __restrict__ x,
    const T* __restrict__ w,
    const acc_t<T>* __restrict__ rstd,
    T* __restrict__ gx,
    acc_t<T>* __restrict__ partial,
    std::int64_t rows,
    std::int64_t n) {
  using A = acc_t<T>;
  A* acc = partial != nullptr ? partial + blockIdx.x * n : nullptr;
  bool first = true;
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* gr = g + r * n;
    const T* xr = x + r * n;
    T* gxr = gx + r * n;
    const A inv = rstd[r];
    A dot = 0;
    for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      const A u = w != nullptr ? load(gr + i) * load(w + i) : load(gr + i);
      dot += u * load(xr + i);
    }
    dot = block_sum(dot);
    const A b = inv * inv * inv * dot / static_cast<A>(n);
    for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      const A gi = load(gr + i), xi = load(xr + i);
      const A u = w != nullptr ? gi * load(w + i) : gi;
      store(gxr + i, inv * u - b * xi);
      if (acc != nullptr) {
        const A term = gi * xi * inv;
        acc[i] = first ? term : acc[i] + term;
      }
    }
    first = false;
  }
}

// gw[i] = sum over blocks b (in order) of partial[b * n + i].
template <typename T>
__global__ void sum_partials_kernel(
    const acc_t<T>* __restrict__ partial, T* __restrict__ gw, std::int64_t blocks, std::int64_t n) {
  using A = acc_t<T>;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    A s = 0;
    for (std::int64_t b = 0; b < blocks; ++b) s += partial[b * n + i];
    store(gw + i, s);
  }
}

}  // namespace

void launch_rms_norm(
    const void* x,
    const void* w,
    double eps,
    void* y,
    void* rstd,
    std::int64_t rows,
    std::int64_t n,
    DType dtype,
    void* stream) {
  dispatch_float(dtype, "rms_norm", [&](auto tag) {
    using T = decltype(tag);
    using A = acc_t<T>;
    if (rows == 0)
      return;
    rms_norm_kernel<T><<<grid_blocks(rows), row_threads(n), 0, as_stream(stream)>>>(
        static_cast<const T*>(x),
        static_cast<const T*>(w),
        static_cast<A>(eps),
        static_cast<T*>(y),
        static_cast<A*>(rstd),
        rows,
        n);
    PEFTCPP_CUDA_CHECK_LAUNCH("rms_norm");
  });
}

std::size_t rms_norm_backward_workspace_bytes(std::int64_t rows, std::int64_t n, DType dtype) {
  return static_cast<std::size_t>(backward_blocks(rows) * n) * acc_size(dtype);
}

void launch_rms_norm_backward(
    const void* g,
    const void* x,
    const void* w,
    const void* rstd,
    void* gx,
    void* gw,
    void* workspace,
    std::int64_t rows,
    std::int64_t n,
    DType dtype,
    void* stream) {
  dispatch_float(dtype, "rms_norm_backward", [&](auto tag) {
    using T = decltype(tag);
    using A = acc_t<T>;
    const std::int64_t blocks = backward_blocks(rows);
    if (gw != nullptr && workspace == nullptr && blocks * n > 0) {
      throw DeviceError(
          "[rms_norm_backward] the weight gradient needs a workspace of " +
          std::to_string(rms_norm_backward_workspace_bytes(rows, n, dtype)) + " bytes");
    }
    A* partial = gw != nullptr ? static_cast<A*>(workspace) : nullptr;
    if (blocks > 0) {
      rms_norm_backward_kernel<T>
          <<<static_cast<unsigned>(blocks), row_threads(n), 0, as_stream(stream)>>>(
              static_cast<const T*>(g),
              static_cast<const T*>(x),
              static_cast<const T*>(w),
              static_cast<const A*>(rstd),
              static_cast<T*>(gx),
              partial,
              rows,
              n);
      PEFTCPP_CUDA_CHECK_LAUNCH("rms_norm_backward");
    }
    if (gw != nullptr && n > 0) {
      if (blocks == 0) {
        // no rows: the weight gradient is zero
        PEFTCPP_CUDA_CHECK(
            "rms_norm_backward",
            cudaMemsetAsync(gw, 0, static_cast<std::size_t>(n) * sizeof(T), as_stream(stream)));
        return;
      }
      constexpr unsigned kThreads = 256;
      sum_partials_kernel<T>
          <<<grid_blocks((n + kThreads - 1) / kThreads), kThreads, 0, as_stream(stream)>>>(
              partial, static_cast<T*>(gw), blocks, n);
      PEFTCPP_CUDA_CHECK_LAUNCH("rms_norm_backward (weight gradient)");
    }
  });
}

}  // namespace peftcpp::cuda
