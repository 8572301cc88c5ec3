// Atomic `*p += v` for every storage type (v in compute type; the CPU rounds after each add
// the same way). Hardware atomics for float, double, int32, int64; 8- and 16-bit types go
// through a compare-and-swap loop on the aligned 32-bit word that holds them. bool adds as OR
// (the CPU's static_cast<bool>(a + b)). Internal to cuda/kernels.
#pragma once

#include <cstring>

#include "cuda/kernels/common.cuh"

namespace peftcpp::cuda::kernels {

template <typename T, typename F>
__device__ __forceinline__ void atomic_update_subword(T* p, F update) {
  static_assert(sizeof(T) == 1 || sizeof(T) == 2);
  const auto addr = reinterpret_cast<std::uintptr_t>(p);
  auto* word = reinterpret_cast<unsigned int*>(addr & ~std::uintptr_t{3});
  const unsigned shift = static_cast<unsigned>(addr & 3) * 8;
  const unsigned mask = (sizeof(T) == 1 ? 0xffu : 0xffffu) << shift;
  unsigned old = *word, assumed;
  do {
    assumed = old;
    const unsigned cur_bits = (assumed & mask) >> shift;
    T cur;
    if constexpr (sizeof(T) == 1) {
      const auto b = static_cast<std::uint8_t>(cur_bits);
      memcpy(&cur, &b, 1);
    } else {
      const auto b = static_cast<std::uint16_t>(cur_bits);
      memcpy(&cur, &b, 2);
    }
    const T next = update(cur);
    unsigned next_bits;
    if constexpr (sizeof(T) == 1) {
      std::uint8_t b;
      memcpy(&b, &next, 1);
      next_bits = b;
    } else {
      std::uint16_t b;
      memcpy(&b, &next, 2);
      next_bits = b;
    }
    old = atomicCAS(word, assumed, (assumed & ~mask) | (next_bits << shift));
  } while (assumed != old);
}

template <typename T>
__device__ __forceinline__ void atomic_add(T* p, compute_t<T> v) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, std::int32_t>) {
    atomicAdd(p, v);
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
  } else if constexpr (std::is_same_v<T, bool>) {
    if (v) atomic_update_subword(p, [](bool) { return true; });
  } else {
    atomic_update_subword(p, [v](T cur) { return from_compute<T>(static_cast<compute_t<T>>(to_compute(cur) + v)); });
  }
}

}  // namespace peftcpp::cuda::kernels
