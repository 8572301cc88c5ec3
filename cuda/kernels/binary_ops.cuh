// Functors of the binary kinds (tensor/backend/kinds.def) on compute values, with the CPU
// backend's formulas (tensor/cpu/binary.cpp). Internal to cuda/kernels.
#pragma once

#include <cmath>

#include "cuda/kernels/common.cuh"

namespace peftcpp::cuda::kernels {

constexpr bool binary_returns_bool(BinaryOp op) {
  return op >= BinaryOp::Eq;  // comparisons and logic come last in kinds.def
}

template <typename C>
__device__ __forceinline__ C int_pow(C x, C y) {
  // by squaring; negative exponents give 0 except for |x| == 1, as PyTorch
  if constexpr (std::is_signed_v<C>) {
    if (y < 0) return x == 1 ? C(1) : (x == -1 ? ((y % 2) ? C(-1) : C(1)) : C(0));
  }
  C r = 1, base = x;
  auto e = y;
  while (e) {
    if (e & 1) r = static_cast<C>(r * base);
    base = static_cast<C>(base * base);
    e >>= 1;
  }
  return r;
}

template <BinaryOp Op, typename C>
struct BinaryFn {
  C alpha = C(1);

  __device__ __forceinline__ auto operator()(C x, C y) const {
    constexpr bool kFloat = std::is_floating_point_v<C>;
    if constexpr (Op == BinaryOp::Add) {
      return static_cast<C>(x + alpha * y);
    } else if constexpr (Op == BinaryOp::Sub) {
      return static_cast<C>(x - alpha * y);
    } else if constexpr (Op == BinaryOp::Mul) {
      return static_cast<C>(x * y);
    } else if constexpr (Op == BinaryOp::Div) {
      if constexpr (kFloat) {
        return x / y;
      } else {
        return y == 0 ? C(0) : static_cast<C>(x / y);  // ops check for zero divisors first
      }
    } else if constexpr (Op == BinaryOp::Pow) {
      if constexpr (kFloat) {
        return pow(x, y);
      } else {
        return int_pow(x, y);
      }
    } else if constexpr (Op == BinaryOp::Maximum || Op == BinaryOp::Minimum) {
      if constexpr (kFloat) {
        if (is_nan(x) || is_nan(y)) return static_cast<C>(NAN);
      }
      if constexpr (Op == BinaryOp::Maximum) {
        return x > y ? x : y;
      } else {
        return x < y ? x : y;
      }
    } else if constexpr (Op == BinaryOp::Atan2) {
      return static_cast<C>(atan2(static_cast<double>(x), static_cast<double>(y)));
    } else if constexpr (Op == BinaryOp::Eq) {
      return x == y;
    } else if constexpr (Op == BinaryOp::Ne) {
      return x != y;
    } else if constexpr (Op == BinaryOp::Lt) {
      return x < y;
    } else if constexpr (Op == BinaryOp::Le) {
      return x <= y;
    } else if constexpr (Op == BinaryOp::Gt) {
      return x > y;
    } else if constexpr (Op == BinaryOp::Ge) {
      return x >= y;
    } else if constexpr (Op == BinaryOp::LogicalAnd) {
      return x != C(0) && y != C(0);
    } else if constexpr (Op == BinaryOp::LogicalOr) {
      return x != C(0) || y != C(0);
    } else {
      static_assert(Op == BinaryOp::LogicalXor);
      return (x != C(0)) != (y != C(0));
    }
  }
};

/// bool operands: arithmetic kinds act as logic (the CPU backend's table).
template <BinaryOp Op>
struct BoolBinaryFn {
  __device__ __forceinline__ bool operator()(bool x, bool y) const {
    if constexpr (Op == BinaryOp::Add || Op == BinaryOp::Maximum || Op == BinaryOp::LogicalOr) return x || y;
    if constexpr (Op == BinaryOp::Mul || Op == BinaryOp::Minimum || Op == BinaryOp::LogicalAnd) return x && y;
    if constexpr (Op == BinaryOp::Eq) return x == y;
    if constexpr (Op == BinaryOp::Ne || Op == BinaryOp::LogicalXor) return x != y;
    if constexpr (Op == BinaryOp::Lt) return !x && y;
    if constexpr (Op == BinaryOp::Le) return !x || y;
    if constexpr (Op == BinaryOp::Gt) return x && !y;
    if constexpr (Op == BinaryOp::Ge) return x || !y;
    return false;
  }
};

constexpr bool bool_binary_supported(BinaryOp op) {
  return op != BinaryOp::Sub && op != BinaryOp::Div && op != BinaryOp::Pow && op != BinaryOp::Atan2;
}

}  // namespace peftcpp::cuda::kernels
