// Shared pieces of the fused kernels (internal, CUDA translation units only): storage <-> compute
// conversions, the dtype dispatch, deterministic block reductions, launch geometry and the
// launch check.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "cuda/check.h"
#include "tensor/dtype.h"
#include "tensor/error.h"

namespace peftcpp::cuda::fused_detail {

// Compute type of a storage type: float for float32 and the 16-bit types, double for float64.
template <typename T>
struct Acc {
  using type = float;
};
template <>
struct Acc<double> {
  using type = double;
};
template <typename T>
using acc_t = typename Acc<T>::type;

__device__ __forceinline__ float load(const float* p) {
  return *p;
}
__device__ __forceinline__ double load(const double* p) {
  return *p;
}
__device__ __forceinline__ float load(const __nv_bfloat16* p) {
  return __bfloat162float(*p);
}
__device__ __forceinline__ float load(const __half* p) {
  return __half2float(*p);
}

// One rounding to the storage type (round to nearest even, as tensor/dtype.h).
__device__ __forceinline__ void store(float* p, float v) {
  *p = v;
}
__device__ __forceinline__ void store(double* p, double v) {
  *p = v;
}
__device__ __forceinline__ void store(__nv_bfloat16* p, float v) {
  *p = __float2bfloat16_rn(v);
}
__device__ __forceinline__ void store(__half* p, float v) {
  *p = __float2half_rn(v);
}

__device__ __forceinline__ float exp_(float v) {
  return expf(v);
}
__device__ __forceinline__ double exp_(double v) {
  return exp(v);
}
__device__ __forceinline__ float log_(float v) {
  return logf(v);
}
__device__ __forceinline__ double log_(double v) {
  return log(v);
}

template <typename A>
__device__ __forceinline__ A warp_sum(A v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// Sum over the block (blockDim.x a multiple of 32), the same order on every run; every thread
// gets the result. Safe to call repeatedly in one kernel.
template <typename A>
__device__ A block_sum(A v) {
  __shared__ A partial[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // a previous call may still be reading partial[0]
  if (lane == 0)
    partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    A w = lane < warps ? partial[lane] : A(0);
    w = warp_sum(w);
    if (lane == 0)
      partial[0] = w;
  }
  __syncthreads();
  return partial[0];
}

// Threads per block for a kernel that walks rows of n elements: a multiple of 32, at most 512.
inline unsigned row_threads(std::int64_t n) {
  std::int64_t t = (n + 31) / 32 * 32;
  if (t < 32)
    t = 32;
  if (t > 512)
    t = 512;
  return static_cast<unsigned>(t);
}

// Blocks for a grid-stride loop over `work` items (rows or chunks), within the grid limit.
inline unsigned grid_blocks(std::int64_t work) {
  constexpr std::int64_t kMaxBlocks = 1 << 30;
  return static_cast<unsigned>(work < kMaxBlocks ? work : kMaxBlocks);
}

inline cudaStream_t as_stream(void* stream) {
  return static_cast<cudaStream_t>(stream);
}

[[noreturn]] inline void unsupported_dtype(const char* op, DType dtype) {
  throw DeviceError(
      std::string("[") + op + "] CUDA fused kernel: unsupported dtype " + dtype_name(dtype) +
      " (float32, float64, bfloat16 and float16 are)");
}

// Calls f(T{}) with T the storage type of `dtype`.
template <typename F>
void dispatch_float(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::Float32:
      f(float{});
      return;
    case DType::Float64:
      f(double{});
      return;
    case DType::BFloat16:
      f(__nv_bfloat16{});
      return;
    case DType::Float16:
      f(__half{});
      return;
    default:
      unsupported_dtype(op, dtype);
  }
}

}  // namespace peftcpp::cuda::fused_detail

// Checks the launch just made (configuration errors); `op` names the launcher.
#define PEFTCPP_CUDA_CHECK_LAUNCH(op) PEFTCPP_CUDA_CHECK(op, cudaGetLastError())
