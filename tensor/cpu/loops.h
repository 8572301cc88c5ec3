// Strided N-ary iteration for CPU kernels, with dimension coalescing and an OpenMP split of the
// linear index space. Internal to tensor/cpu.
#pragma once

#include <omp.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "tensor/backend/backend.h"
#include "tensor/dtype.h"
#include "tensor/error.h"

namespace peftcpp::cpu {

/// Below this many elements a loop runs on one thread (thread start-up costs more than it saves).
inline constexpr std::int64_t kParallelGrain = 1 << 15;

/// The type arithmetic is done in for a storage type.
template <typename T>
struct compute_type {
  using type = T;
};
template <>
struct compute_type<Half> {
  using type = float;
};
template <>
struct compute_type<BFloat16> {
  using type = float;
};
template <typename T>
using compute_t = typename compute_type<T>::type;

template <typename T>
inline compute_t<T> load(const T* p) {
  if constexpr (std::is_same_v<T, Half>) {
    return half_to_float(p->bits);
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return bf16_to_float(p->bits);
  } else {
    return *p;
  }
}

template <typename T, typename C>
inline void store(T* p, C v) {
  if constexpr (std::is_same_v<T, Half>) {
    p->bits = float_to_half(static_cast<float>(v));
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    p->bits = float_to_bf16(static_cast<float>(v));
  } else if constexpr (std::is_same_v<T, bool>) {
    *p = static_cast<bool>(v);
  } else {
    *p = static_cast<T>(v);
  }
}

/// Calls `f.template operator()<T>()` with the storage type of `dtype`.
template <typename F>
decltype(auto) dispatch_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float32: return f.template operator()<float>();
    case DType::Float64: return f.template operator()<double>();
    case DType::Float16: return f.template operator()<Half>();
    case DType::BFloat16: return f.template operator()<BFloat16>();
    case DType::Int8: return f.template operator()<std::int8_t>();
    case DType::UInt8: return f.template operator()<std::uint8_t>();
    case DType::Int16: return f.template operator()<std::int16_t>();
    case DType::Int32: return f.template operator()<std::int32_t>();
    case DType::Int64: return f.template operator()<std::int64_t>();
    case DType::Bool: return f.template operator()<bool>();
  }
  throw DTypeError("[cpu] unknown dtype");
}

/// Same as dispatch_dtype restricted to floating types (DTypeError naming `op` otherwise).
template <typename F>
decltype(auto) dispatch_floating(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::Float32: return f.template operator()<float>();
    case DType::Float64: return f.template operator()<double>();
    case DType::Float16: return f.template operator()<Half>();
    case DType::BFloat16: return f.template operator()<BFloat16>();
    default:
      throw DTypeError(std::string("[") + op + "] expected a floating-point tensor, got " + dtype_name(dtype));
  }
}

/// N operands of the same shape, strides in bytes, dims coalesced.
template <int N>
struct StridedLayout {
  Shape shape;
  std::array<Strides, N> strides;  // bytes
  std::array<char*, N> base{};
  std::int64_t numel = 1;
};

template <int N>
StridedLayout<N> make_layout(const std::array<const TensorView*, N>& views) {
  StridedLayout<N> L;
  const Shape& shape = views[0]->shape;
  for (int k = 0; k < N; ++k) {
    L.base[k] = static_cast<char*>(views[k]->data);
  }
  // Drop size-1 dims, convert to bytes, then merge dims that are contiguous in every operand.
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    L.shape.push_back(shape[d]);
    for (int k = 0; k < N; ++k) {
      L.strides[k].push_back(views[k]->strides[d] * static_cast<std::int64_t>(itemsize(views[k]->dtype)));
    }
  }
  for (std::int64_t s : shape) L.numel *= s;
  if (L.numel == 0) return L;
  for (std::size_t d = L.shape.size(); d-- > 1;) {
    bool mergeable = true;
    for (int k = 0; k < N; ++k) {
      if (L.strides[k][d - 1] != L.strides[k][d] * L.shape[d]) mergeable = false;
    }
    if (mergeable) {
      L.shape[d - 1] *= L.shape[d];
      L.shape.erase(L.shape.begin() + static_cast<std::ptrdiff_t>(d));
      for (int k = 0; k < N; ++k) {
        L.strides[k][d - 1] = L.strides[k][d];
        L.strides[k].erase(L.strides[k].begin() + static_cast<std::ptrdiff_t>(d));
      }
    }
  }
  return L;
}

/// Runs `inner(ptrs, inner_strides_bytes, n)` over the whole index space of `L`, where each call
/// covers n consecutive elements of the innermost dim. Threads split the linear index range, so
/// every element is visited exactly once whatever the thread count.
template <int N, typename Inner>
void for_each_strided(const StridedLayout<N>& L, Inner&& inner, std::int64_t grain = kParallelGrain) {
  if (L.numel == 0) return;
  const std::int64_t nd = static_cast<std::int64_t>(L.shape.size());
  if (nd == 0) {
    std::array<std::int64_t, N> zero{};
    inner(L.base, zero, std::int64_t{1});
    return;
  }
  std::array<std::int64_t, N> inner_strides;
  for (int k = 0; k < N; ++k) inner_strides[k] = L.strides[k][nd - 1];
  const std::int64_t inner_size = L.shape[nd - 1];

  auto run_range = [&](std::int64_t begin, std::int64_t end) {
    // Decompose `begin` into a multi-index.
    std::int64_t idx[16];
    std::int64_t rem = begin;
    std::array<char*, N> ptr = L.base;
    for (std::int64_t d = nd - 1; d >= 0; --d) {
      idx[d] = rem % L.shape[d];
      rem /= L.shape[d];
      for (int k = 0; k < N; ++k) ptr[k] += idx[d] * L.strides[k][d];
    }
    std::int64_t pos = begin;
    while (pos < end) {
      const std::int64_t n = std::min(inner_size - idx[nd - 1], end - pos);
      inner(ptr, inner_strides, n);
      pos += n;
      // advance the multi-index by n along the innermost dim, carrying outward
      for (int k = 0; k < N; ++k) ptr[k] += n * inner_strides[k];
      idx[nd - 1] += n;
      for (std::int64_t d = nd - 1; d > 0 && idx[d] == L.shape[d]; --d) {
        idx[d] = 0;
        ++idx[d - 1];
        for (int k = 0; k < N; ++k) {
          ptr[k] += L.strides[k][d - 1] - L.shape[d] * L.strides[k][d];
        }
      }
    }
  };

  if (nd > 16) throw ShapeError("[cpu] tensors with more than 16 non-trivial dims are not supported");
  const int max_threads = omp_get_max_threads();
  if (L.numel < grain || max_threads == 1 || omp_in_parallel()) {
    run_range(0, L.numel);
    return;
  }
  const std::int64_t chunks = std::min<std::int64_t>(max_threads, (L.numel + grain - 1) / grain);
#pragma omp parallel for num_threads(static_cast<int>(chunks)) schedule(static)
  for (std::int64_t c = 0; c < chunks; ++c) {
    // 64-element alignment of chunk boundaries keeps cache lines owned by one thread.
    std::int64_t b = L.numel * c / chunks / 64 * 64;
    std::int64_t e = c + 1 == chunks ? L.numel : L.numel * (c + 1) / chunks / 64 * 64;
    if (b < e) run_range(b, e);
  }
}

}  // namespace peftcpp::cpu
