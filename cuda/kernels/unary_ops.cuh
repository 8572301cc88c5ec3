// Functors of the unary kinds (tensor/backend/kinds.def), on compute values: float32 for 16-bit
// floats, the type itself otherwise. Formulas are the CPU backend's (tensor/cpu/unary.cpp).
// Internal to cuda/kernels.
#pragma once

#include <cmath>

#include "cuda/kernels/common.cuh"

namespace peftcpp::cuda::kernels {

/// Kinds that also run on integer tensors; the others need floating inputs.
constexpr bool unary_accepts_integers(UnaryOp op) {
  switch (op) {
    case UnaryOp::Neg:
    case UnaryOp::Abs:
    case UnaryOp::Square:
    case UnaryOp::Sign:
    case UnaryOp::AddScalar:
    case UnaryOp::DivScalar:
    case UnaryOp::Clamp:
    case UnaryOp::LogicalNot:
    case UnaryOp::IsNan:
    case UnaryOp::IsInf:
    case UnaryOp::IsFinite:
      return true;
    default:
      return false;
  }
}

constexpr bool unary_returns_bool(UnaryOp op) {
  return op == UnaryOp::LogicalNot || op == UnaryOp::IsNan || op == UnaryOp::IsInf || op == UnaryOp::IsFinite;
}

template <UnaryOp Op, typename C>
struct UnaryFn {
  double p0 = 0, p1 = 0;

  __device__ __forceinline__ auto operator()(C x) const {
    constexpr bool kFloat = std::is_floating_point_v<C>;
    if constexpr (Op == UnaryOp::Neg) {
      return static_cast<C>(-x);
    } else if constexpr (Op == UnaryOp::Abs) {
      if constexpr (std::is_unsigned_v<C>) {
        return x;
      } else {
        return x < C(0) ? static_cast<C>(-x) : x;
      }
    } else if constexpr (Op == UnaryOp::Square) {
      return static_cast<C>(x * x);
    } else if constexpr (Op == UnaryOp::Sign) {
      if constexpr (std::is_unsigned_v<C>) {
        return static_cast<C>(x > C(0));
      } else {
        return static_cast<C>((C(0) < x) - (x < C(0)));
      }
    } else if constexpr (Op == UnaryOp::AddScalar) {
      if constexpr (kFloat) {
        return static_cast<C>(static_cast<C>(p0) * x + static_cast<C>(p1));
      } else {
        return static_cast<C>(static_cast<double>(x) * p0 + p1);
      }
    } else if constexpr (Op == UnaryOp::DivScalar) {
      return static_cast<C>(x / static_cast<C>(p0));
    } else if constexpr (Op == UnaryOp::Clamp) {
      if (is_nan(x)) return x;
      double v = static_cast<double>(x);
      if (!(p0 != p0) && v < p0) v = p0;
      if (!(p1 != p1) && v > p1) v = p1;
      return static_cast<C>(v);
    } else if constexpr (Op == UnaryOp::LogicalNot) {
      return x == C(0);
    } else if constexpr (Op == UnaryOp::IsNan) {
      return is_nan(x);
    } else if constexpr (Op == UnaryOp::IsInf) {
      if constexpr (kFloat) {
        return isinf(x);
      } else {
        return false;
      }
    } else if constexpr (Op == UnaryOp::IsFinite) {
      if constexpr (kFloat) {
        return isfinite(x);
      } else {
        return true;
      }
    } else {
      static_assert(kFloat, "floating-point kinds are instantiated for floating compute types only");
      return floating(x);
    }
  }

  __device__ __forceinline__ C floating(C x) const {
    const C a = static_cast<C>(p0), b = static_cast<C>(p1);
    if constexpr (Op == UnaryOp::Exp) return exp(x);
    if constexpr (Op == UnaryOp::Log) return log(x);
    if constexpr (Op == UnaryOp::Log1p) return log1p(x);
    if constexpr (Op == UnaryOp::Expm1) return expm1(x);
    if constexpr (Op == UnaryOp::Sqrt) return sqrt(x);
    if constexpr (Op == UnaryOp::Rsqrt) return C(1) / sqrt(x);
    if constexpr (Op == UnaryOp::Reciprocal) return C(1) / x;
    if constexpr (Op == UnaryOp::Sin) return sin(x);
    if constexpr (Op == UnaryOp::Cos) return cos(x);
    if constexpr (Op == UnaryOp::Tanh) return tanh(x);
    if constexpr (Op == UnaryOp::Sigmoid) return C(1) / (C(1) + exp(-x));
    if constexpr (Op == UnaryOp::Relu) return x > C(0) ? x : (is_nan(x) ? x : C(0));
    if constexpr (Op == UnaryOp::GeluErf) return C(0.5) * x * (C(1) + erf(x * C(0.7071067811865476)));
    if constexpr (Op == UnaryOp::GeluTanh) {
      const C k0 = C(0.7978845608028654), k1 = C(0.044715);  // sqrt(2/pi), PyTorch's constant
      return C(0.5) * x * (C(1) + tanh(k0 * (x + k1 * x * x * x)));
    }
    if constexpr (Op == UnaryOp::Silu) return x / (C(1) + exp(-x));
    if constexpr (Op == UnaryOp::Softplus) return a * x > b ? x : log1p(exp(a * x)) / a;
    if constexpr (Op == UnaryOp::Erf) return erf(x);
    if constexpr (Op == UnaryOp::Floor) return floor(x);
    if constexpr (Op == UnaryOp::Ceil) return ceil(x);
    if constexpr (Op == UnaryOp::Round) return rint(x);  // half to even, as std::nearbyint
    if constexpr (Op == UnaryOp::PowScalar) {
      if (p0 == 2.0) return x * x;
      if (p0 == 0.5) return sqrt(x);
      return pow(x, a);
    }
  }
};

}  // namespace peftcpp::cuda::kernels
