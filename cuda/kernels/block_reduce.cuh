// Block-wide max and sum through warp shuffles (blockDim.x a multiple of 32, at most 1024).
// Every thread gets the result. Internal to cuda/kernels.
#pragma once

#include "cuda/kernels/common.cuh"

namespace peftcpp::cuda::kernels {

template <bool kMax, typename C>
__device__ __forceinline__ C block_all_reduce(C v) {
  __shared__ C partial[32];
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (int s = 16; s > 0; s >>= 1) {
    const C o = __shfl_xor_sync(0xffffffffu, v, s);
    v = kMax ? (o > v ? o : v) : v + o;
  }
  __syncthreads();  // `partial` may still be read from a previous call
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  v = lane < warps ? partial[lane] : (kMax ? -static_cast<C>(INFINITY) : C(0));
  for (int s = 16; s > 0; s >>= 1) {
    const C o = __shfl_xor_sync(0xffffffffu, v, s);
    v = kMax ? (o > v ? o : v) : v + o;
  }
  return v;
}

}  // namespace peftcpp::cuda::kernels
