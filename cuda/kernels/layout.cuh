// Index spaces shared by N operands of one shape: size-1 dims dropped, dims contiguous in every
// operand merged, at most kMaxDims left (more is a DeviceError). Strides are in elements.
// Internal to cuda/kernels.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "cuda/kernels/common.cuh"

namespace peftcpp::cuda::kernels {

inline constexpr int kMaxDims = 8;

template <int N>
struct Layout {
  int ndim = 0;
  std::int64_t numel = 1;
  std::int64_t sizes[kMaxDims] = {};
  std::int64_t strides[N][kMaxDims] = {};

  /// Element offsets of linear (row-major) index i in each operand. Index may be a 32-bit
  /// unsigned type when numel < 2^31 (every size is then < 2^31 too): the divisions, the costly
  /// part, are then 32-bit; offsets stay 64-bit.
  template <typename Index = std::int64_t>
  __device__ __forceinline__ void offsets(Index i, std::int64_t (&off)[N]) const {
#pragma unroll
    for (int k = 0; k < N; ++k) off[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const auto size = static_cast<Index>(sizes[d]);
      const Index c = i % size;
      i /= size;
#pragma unroll
      for (int k = 0; k < N; ++k) off[k] += static_cast<std::int64_t>(c) * strides[k][d];
    }
  }

  /// Offset of linear index i in operand 0: a multiplication for one dim, 32-bit divisions when
  /// the space is small enough.
  __device__ __forceinline__ std::int64_t offset0(std::int64_t i) const {
    if (ndim <= 1) return i * strides[0][0];
    std::int64_t off[N];
    if (numel <= 0x7fffffff) {
      offsets(static_cast<std::uint32_t>(i), off);
    } else {
      offsets(i, off);
    }
    return off[0];
  }

  /// True when every operand walks memory contiguously (one dim of stride 1, or a scalar).
  bool contiguous() const {
    if (ndim == 0) return true;
    if (ndim != 1) return false;
    for (int k = 0; k < N; ++k) {
      if (strides[k][0] != 1) return false;
    }
    return true;
  }
};

/// A layout over `shape` with one stride list per operand.
template <int N>
Layout<N> make_layout(const Shape& shape, const std::array<const Strides*, N>& strides, const char* op) {
  Shape sh;
  std::array<Strides, N> st;
  std::int64_t numel = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    numel *= shape[d];
    if (shape[d] == 1) continue;
    sh.push_back(shape[d]);
    for (int k = 0; k < N; ++k) st[k].push_back((*strides[k])[d]);
  }
  for (std::size_t d = sh.size(); d-- > 1;) {
    bool mergeable = true;
    for (int k = 0; k < N; ++k) {
      if (st[k][d - 1] != st[k][d] * sh[d]) mergeable = false;
    }
    if (!mergeable) continue;
    sh[d - 1] *= sh[d];
    sh.erase(sh.begin() + static_cast<std::ptrdiff_t>(d));
    for (int k = 0; k < N; ++k) {
      st[k][d - 1] = st[k][d];
      st[k].erase(st[k].begin() + static_cast<std::ptrdiff_t>(d));
    }
  }
  if (sh.size() > static_cast<std::size_t>(kMaxDims)) {
    throw DeviceError(std::string("[") + op + "] the CUDA backend handles at most 8 non-mergeable dims, got " +
                      std::to_string(sh.size()) + "; make the tensor contiguous first");
  }
  Layout<N> L;
  L.ndim = static_cast<int>(sh.size());
  L.numel = numel;
  for (int d = 0; d < L.ndim; ++d) {
    L.sizes[d] = sh[static_cast<std::size_t>(d)];
    for (int k = 0; k < N; ++k) L.strides[k][d] = st[k][static_cast<std::size_t>(d)];
  }
  return L;
}

/// A layout over the common shape of `views` (views[0]'s shape).
template <int N>
Layout<N> make_layout(const std::array<const TensorView*, N>& views, const char* op) {
  std::array<const Strides*, N> st;
  for (int k = 0; k < N; ++k) st[k] = &views[k]->strides;
  return make_layout<N>(views[0]->shape, st, op);
}

}  // namespace peftcpp::cuda::kernels
