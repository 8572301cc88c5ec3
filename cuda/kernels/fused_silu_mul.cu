// SwiGLU's silu(gate) * up and its backward on CUDA, element-wise over contiguous tensors:
// 16-byte vector loads and stores when every pointer is 16-byte aligned (4 float32, 2 float64 or
// 8 16-bit values per access), a scalar tail. silu(a) = a / (1 + exp(-a)), as torch and the CPU.
#include <cstdint>

#include "cuda/kernels/fused.h"
#include "cuda/kernels/fused_common.cuh"

namespace peftcpp::cuda {
namespace {

using namespace fused_detail;

template <typename T, int V>
struct alignas(sizeof(T) * V) Pack {
  T v[V];
};

template <typename A>
__device__ __forceinline__ A silu_mul_one(A a, A b) {
  return a / (A(1) + exp_(-a)) * b;
}

template <typename A>
struct SiluMulGrad {
  A d_gate, d_up;
};

// d_gate and d_up of one element.
template <typename A>
__device__ __forceinline__ SiluMulGrad<A> silu_mul_grad_one(A g, A x, A up) {
  const A s = A(1) / (A(1) + exp_(-x));
  return {g * up * (s * (A(1) + x * (A(1) - s))), g * (x * s)};
}

template <typename T, int V>
__global__ void silu_mul_kernel(
    const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out, std::int64_t n) {
  const std::int64_t start = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  const std::int64_t packs = n / V;
  for (std::int64_t k = start; k < packs; k += stride) {
    const Pack<T, V> pa = reinterpret_cast<const Pack<T, V>*>(a)[k];
    const Pack<T, V> pb = reinterpret_cast<const Pack<T, V>*>(b)[k];
    Pack<T, V> po;
#pragma unroll
    for (int j = 0; j < V; ++j) store(&po.v[j], silu_mul_one(load(&pa.v[j]), load(&pb.v[j])));
    reinterpret_cast<Pack<T, V>*>(out)[k] = po;
  }
  for (std::int64_t i = packs * V + start; i < n; i += stride)
    store(out + i, silu_mul_one(load(a + i), load(b + i)));
}

template <typename T, int V>
__global__ void silu_mul_backward_kernel(
    const T* __restrict__ g,
    const T* __restrict__ a,
    const T* __restrict__ b,
    T* __restrict__ d_gate,
    T* __restrict__ d_up,
    std::int64_t n) {
  const std::int64_t start = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  const std::int64_t packs = n / V;
  for (std::int64_t k = start; k < packs; k += stride) {
    const Pack<T, V> pg = reinterpret_cast<const Pack<T, V>*>(g)[k];
    const Pack<T, V> pa = reinterpret_cast<const Pack<T, V>*>(a)[k];
    const Pack<T, V> pb = reinterpret_cast<const Pack<T, V>*>(b)[k];
    Pack<T, V> dg, du;
#pragma unroll
    for (int j = 0; j < V; ++j) {
      const auto r = silu_mul_grad_one(load(&pg.v[j]), load(&pa.v[j]), load(&pb.v[j]));
      store(&dg.v[j], r.d_gate);
      store(&du.v[j], r.d_up);
    }
    if (d_gate != nullptr)
      reinterpret_cast<Pack<T, V>*>(d_gate)[k] = dg;
    if (d_up != nullptr)
      reinterpret_cast<Pack<T, V>*>(d_up)[k] = du;
  }
  for (std::int64_t i = packs * V + start; i < n; i += stride) {
    const auto r = silu_mul_grad_one(load(g + i), load(a + i), load(b + i));
    if (d_gate != nullptr)
      store(d_gate + i, r.d_gate);
    if (d_up != nullptr)
      store(d_up + i, r.d_up);
  }
}

bool aligned16(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

constexpr unsigned kThreads = 256;

// Blocks for n elements handled `per_thread` at a time.
unsigned blocks_for(std::int64_t n, int per_thread) {
  const std::int64_t work = (n + per_thread - 1) / per_thread;
  return grid_blocks((work + kThreads - 1) / kThreads);
}

}  // namespace

void launch_silu_mul(
    const void* gate, const void* up, void* out, std::int64_t n, DType dtype, void* stream) {
  dispatch_float(dtype, "silu_mul", [&](auto tag) {
    using T = decltype(tag);
    if (n == 0)
      return;
    constexpr int V = 16 / sizeof(T);
    const T* a = static_cast<const T*>(gate);
    const T* b = static_cast<const T*>(up);
    T* o = static_cast<T*>(out);
    if (aligned16(gate) && aligned16(up) && aligned16(out)) {
      silu_mul_kernel<T, V><<<blocks_for(n, V), kThreads, 0, as_stream(stream)>>>(a, b, o, n);
    } else {
      silu_mul_kernel<T, 1><<<blocks_for(n, 1), kThreads, 0, as_stream(stream)>>>(a, b, o, n);
    }
    PEFTCPP_CUDA_CHECK_LAUNCH("silu_mul");
  });
}

void launch_silu_mul_backward(
    const void* g,
    const void* gate,
    const void* up,
    void* d_gate,
    void* d_up,
    std::int64_t n,
    DType dtype,
    void* stream) {
  dispatch_float(dtype, "silu_mul_backward", [&](auto tag) {
    using T = decltype(tag);
    if (n == 0 || (d_gate == nullptr && d_up == nullptr))
      return;
    constexpr int V = 16 / sizeof(T);
    const T* gp = static_cast<const T*>(g);
    const T* a = static_cast<const T*>(gate);
    const T* b = static_cast<const T*>(up);
    T* dg = static_cast<T*>(d_gate);
    T* du = static_cast<T*>(d_up);
    if (aligned16(g) && aligned16(gate) && aligned16(up) && aligned16(d_gate) && aligned16(d_up)) {
      silu_mul_backward_kernel<T, V>
          <<<blocks_for(n, V), kThreads, 0, as_stream(stream)>>>(gp, a, b, dg, du, n);
    } else {
      silu_mul_backward_kernel<T, 1>
          <<<blocks_for(n, 1), kThreads, 0, as_stream(stream)>>>(gp, a, b, dg, du, n);
    }
    PEFTCPP_CUDA_CHECK_LAUNCH("silu_mul_backward");
  });
}

}  // namespace peftcpp::cuda
