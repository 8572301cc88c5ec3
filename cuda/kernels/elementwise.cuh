// The generic element-wise launcher behind copy/cast, fill, unary, binary and where.
//
// out[i] = f(in0[i], in1[i], ...) over operands of one shape (broadcast dims have stride 0),
// with storage types Out, In... and a functor f on compute values (tensor/dtype conversions in
// common.cuh). Three kernels per functor:
//  - contiguous, 32-bit indices, kVec elements per thread through aligned vector loads/stores
//    (when every pointer is aligned to kVec elements);
//  - contiguous, 32-bit indices, one element per thread (unaligned pointers);
//  - strided: up to kMaxDims coalesced dims, grid-stride loop, 32-bit index arithmetic below
//    2^31 elements (64-bit above), 64-bit offsets.
// Internal to cuda/kernels.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <tuple>
#include <utility>

#include "cuda/kernels/common.cuh"
#include "cuda/kernels/layout.cuh"

namespace peftcpp::cuda::kernels {

inline constexpr int kVec = 4;

template <typename T, int V>
struct alignas(sizeof(T) * V) VecOf {
  T v[V];
};

template <int V, typename F, typename Out, typename... In>
__device__ __forceinline__ void apply_vec(const F& f, Out* out, const VecOf<In, V>&... x) {
  VecOf<Out, V> r;
#pragma unroll
  for (int j = 0; j < V; ++j) r.v[j] = from_compute<Out>(f(to_compute(x.v[j])...));
  *reinterpret_cast<VecOf<Out, V>*>(out) = r;
}

template <int V, typename F, typename Out, typename... In>
__global__ void __launch_bounds__(kBlock) ew_contiguous(std::uint32_t n, F f, Out* out, const In*... in) {
  const std::uint32_t base = (blockIdx.x * blockDim.x + threadIdx.x) * static_cast<std::uint32_t>(V);
  if (base >= n) return;
  if constexpr (V > 1) {
    if (base + V <= n) {
      apply_vec<V>(f, out + base, *reinterpret_cast<const VecOf<In, V>*>(in + base)...);
      return;
    }
  }
  const std::uint32_t end = base + V < n ? base + V : n;
  for (std::uint32_t i = base; i < end; ++i) out[i] = from_compute<Out>(f(load(in + i)...));
}

template <int... I, typename F, typename Out, typename... In>
__device__ __forceinline__ void apply_at(std::integer_sequence<int, I...>, const F& f, Out* out,
                                         const std::int64_t* off, const In*... in) {
  out[off[0]] = from_compute<Out>(f(load(in + off[I + 1])...));
}

// Index: std::uint32_t when numel < 2^31 (then i + step < 2^32 cannot wrap), else std::int64_t.
template <typename Index, typename F, typename Out, typename... In>
__global__ void __launch_bounds__(kBlock) ew_strided(Layout<1 + sizeof...(In)> L, F f, Out* out, const In*... in) {
  constexpr int N = 1 + static_cast<int>(sizeof...(In));
  const auto n = static_cast<Index>(L.numel);
  const Index step = static_cast<Index>(gridDim.x) * blockDim.x;
  for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    std::int64_t off[N];
    L.offsets(i, off);
    apply_at(std::make_integer_sequence<int, N - 1>{}, f, out, off, in...);
  }
}

template <typename T>
bool aligned_for_vec(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % alignof(VecOf<T, kVec>) == 0;
}

/// Launches out = f(in...) on `stream`. `ins` are the input views, in the order of In.
template <typename Out, typename... In, typename F>
void launch_elementwise(const char* op, cudaStream_t stream, const F& f, const TensorView& out,
                        const std::array<const TensorView*, sizeof...(In)>& ins) {
  constexpr int N = 1 + static_cast<int>(sizeof...(In));
  std::array<const TensorView*, N> views;
  views[0] = &out;
  for (int k = 1; k < N; ++k) views[k] = ins[static_cast<std::size_t>(k - 1)];
  const Layout<N> L = make_layout<N>(views, op);
  if (L.numel == 0) return;
  Out* o = static_cast<Out*>(out.data);
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    const std::tuple<const In*...> p{static_cast<const In*>(ins[I]->data)...};
    if (L.contiguous() && L.numel <= std::numeric_limits<std::int32_t>::max()) {
      const auto n = static_cast<std::uint32_t>(L.numel);
      const bool vec = aligned_for_vec<Out>(o) && (aligned_for_vec<In>(std::get<I>(p)) && ...);
      if (vec) {
        ew_contiguous<kVec, F, Out, In...><<<blocks_for(L.numel, kVec), kBlock, 0, stream>>>(n, f, o, std::get<I>(p)...);
      } else {
        ew_contiguous<1, F, Out, In...><<<blocks_for(L.numel, 1), kBlock, 0, stream>>>(n, f, o, std::get<I>(p)...);
      }
    } else if (L.numel <= std::numeric_limits<std::int32_t>::max()) {
      ew_strided<std::uint32_t, F, Out, In...><<<grid_for(L.numel), kBlock, 0, stream>>>(L, f, o, std::get<I>(p)...);
    } else {
      ew_strided<std::int64_t, F, Out, In...><<<grid_for(L.numel), kBlock, 0, stream>>>(L, f, o, std::get<I>(p)...);
    }
  }(std::index_sequence_for<In...>{});
  PEFTCPP_CUDA_CHECK_LAUNCH(op);
}

}  // namespace peftcpp::cuda::kernels
