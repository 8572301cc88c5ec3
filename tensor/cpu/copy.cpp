// Strided copy with dtype conversion, and fills.
#include <cstring>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"

namespace peftcpp::cpu {

void CpuBackend::copy(const TensorView& src, const TensorView& dst) {
  StridedLayout<2> L = make_layout<2>({&dst, &src});
  const std::size_t isz = itemsize(dst.dtype);
  if (src.dtype == dst.dtype) {
    for_each_strided<2>(L, [isz](std::array<char*, 2> p, std::array<std::int64_t, 2> s, std::int64_t n) {
      if (s[0] == static_cast<std::int64_t>(isz) && s[1] == static_cast<std::int64_t>(isz)) {
        std::memcpy(p[0], p[1], static_cast<std::size_t>(n) * isz);
        return;
      }
      for (std::int64_t i = 0; i < n; ++i) std::memcpy(p[0] + i * s[0], p[1] + i * s[1], isz);
    });
    return;
  }
  dispatch_dtype(dst.dtype, [&]<typename To>() {
    dispatch_dtype(src.dtype, [&]<typename From>() {
      for_each_strided<2>(L, [](std::array<char*, 2> p, std::array<std::int64_t, 2> s, std::int64_t n) {
        for (std::int64_t i = 0; i < n; ++i) {
          const auto v = load(reinterpret_cast<const From*>(p[1] + i * s[1]));
          if constexpr (std::is_same_v<To, bool>) {
            store(reinterpret_cast<To*>(p[0] + i * s[0]), v != 0);
          } else if constexpr (std::is_same_v<From, bool>) {
            store(reinterpret_cast<To*>(p[0] + i * s[0]), static_cast<compute_t<To>>(v ? 1 : 0));
          } else {
            store(reinterpret_cast<To*>(p[0] + i * s[0]), static_cast<compute_t<To>>(v));
          }
        }
      });
    });
  });
}

void CpuBackend::fill(const TensorView& dst, double value) {
  StridedLayout<1> L = make_layout<1>({&dst});
  dispatch_dtype(dst.dtype, [&]<typename T>() {
    T v;
    if constexpr (std::is_same_v<T, bool>) {
      v = value != 0.0;
    } else {
      store(&v, static_cast<compute_t<T>>(value));
    }
    for_each_strided<1>(L, [v](std::array<char*, 1> p, std::array<std::int64_t, 1> s, std::int64_t n) {
      if (s[0] == static_cast<std::int64_t>(sizeof(T))) {
        T* out = reinterpret_cast<T*>(p[0]);
        for (std::int64_t i = 0; i < n; ++i) out[i] = v;
      } else {
        for (std::int64_t i = 0; i < n; ++i) *reinterpret_cast<T*>(p[0] + i * s[0]) = v;
      }
    });
  });
}

void CpuBackend::copy_to_host(const void* src, void* dst, std::size_t nbytes) {
  if (nbytes) std::memcpy(dst, src, nbytes);
}

void CpuBackend::copy_from_host(const void* src, void* dst, std::size_t nbytes) {
  if (nbytes) std::memcpy(dst, src, nbytes);
}

}  // namespace peftcpp::cpu
