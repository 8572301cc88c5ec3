// Typed inner loops for element-wise kernels: a contiguous fast path the compiler vectorises and a
// strided fallback. Internal to tensor/cpu.
#pragma once

#include "tensor/cpu/loops.h"

namespace peftcpp::cpu {

/// out[i] = f(in[i]) for storage types In -> Out.
template <typename In, typename Out, typename F>
void unary_loop(const TensorView& src, const TensorView& dst, F f) {
  StridedLayout<2> L = make_layout<2>({&dst, &src});
  for_each_strided<2>(L, [&f](std::array<char*, 2> p, std::array<std::int64_t, 2> s, std::int64_t n) {
    if (s[0] == static_cast<std::int64_t>(sizeof(Out)) && s[1] == static_cast<std::int64_t>(sizeof(In))) {
      Out* __restrict o = reinterpret_cast<Out*>(p[0]);
      const In* __restrict a = reinterpret_cast<const In*>(p[1]);
      for (std::int64_t i = 0; i < n; ++i) store(o + i, f(load(a + i)));
    } else {
      for (std::int64_t i = 0; i < n; ++i) {
        store(reinterpret_cast<Out*>(p[0] + i * s[0]), f(load(reinterpret_cast<const In*>(p[1] + i * s[1]))));
      }
    }
  });
}

/// out[i] = f(a[i], b[i]).
template <typename In, typename Out, typename F>
void binary_loop(const TensorView& a, const TensorView& b, const TensorView& dst, F f) {
  StridedLayout<3> L = make_layout<3>({&dst, &a, &b});
  for_each_strided<3>(L, [&f](std::array<char*, 3> p, std::array<std::int64_t, 3> s, std::int64_t n) {
    constexpr std::int64_t si = sizeof(In), so = sizeof(Out);
    if (s[0] == so && s[1] == si && s[2] == si) {
      Out* __restrict o = reinterpret_cast<Out*>(p[0]);
      const In* __restrict x = reinterpret_cast<const In*>(p[1]);
      const In* __restrict y = reinterpret_cast<const In*>(p[2]);
      for (std::int64_t i = 0; i < n; ++i) store(o + i, f(load(x + i), load(y + i)));
    } else if (s[0] == so && s[1] == si && s[2] == 0) {
      Out* __restrict o = reinterpret_cast<Out*>(p[0]);
      const In* __restrict x = reinterpret_cast<const In*>(p[1]);
      const auto yv = load(reinterpret_cast<const In*>(p[2]));
      for (std::int64_t i = 0; i < n; ++i) store(o + i, f(load(x + i), yv));
    } else if (s[0] == so && s[1] == 0 && s[2] == si) {
      Out* __restrict o = reinterpret_cast<Out*>(p[0]);
      const auto xv = load(reinterpret_cast<const In*>(p[1]));
      const In* __restrict y = reinterpret_cast<const In*>(p[2]);
      for (std::int64_t i = 0; i < n; ++i) store(o + i, f(xv, load(y + i)));
    } else {
      for (std::int64_t i = 0; i < n; ++i) {
        store(reinterpret_cast<Out*>(p[0] + i * s[0]),
              f(load(reinterpret_cast<const In*>(p[1] + i * s[1])), load(reinterpret_cast<const In*>(p[2] + i * s[2]))));
      }
    }
  });
}

}  // namespace peftcpp::cpu
