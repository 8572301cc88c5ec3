// Unary element-wise kernels. Math ops see floating inputs only (ops promote integers first);
// Neg/Abs/Sign/Square/Clamp/affine ops also run on integers.
#include <algorithm>
#include <cmath>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/elementwise_loop.h"
#include "tensor/cpu/simd/simd_kernels.h"

namespace peftcpp::cpu {
namespace {

// float32 exp through the vectorised kernel; strided runs go through a small buffer so that every
// layout gives the same bits.
void exp_f32(const TensorView& src, const TensorView& dst) {
  const simd::KernelTable& k = simd::kernels();
  const bool nt = dst.numel() * static_cast<std::int64_t>(sizeof(float)) >= simd::kNonTemporalBytes;
  StridedLayout<2> L = make_layout<2>({&dst, &src});
  for_each_strided<2>(
      L, [&](std::array<char*, 2> p, std::array<std::int64_t, 2> s, std::int64_t n) {
        constexpr std::int64_t f = sizeof(float);
        if (s[0] == f && s[1] == f) {
          k.exp(reinterpret_cast<const float*>(p[1]), reinterpret_cast<float*>(p[0]), n, nt);
          return;
        }
        constexpr std::int64_t kBuf = 256;
        float buf[kBuf];
        for (std::int64_t i0 = 0; i0 < n; i0 += kBuf) {
          const std::int64_t m = std::min(kBuf, n - i0);
          for (std::int64_t i = 0; i < m; ++i)
            buf[i] = *reinterpret_cast<const float*>(p[1] + (i0 + i) * s[1]);
          k.exp(buf, buf, m, false);
          for (std::int64_t i = 0; i < m; ++i)
            *reinterpret_cast<float*>(p[0] + (i0 + i) * s[0]) = buf[i];
        }
      });
}

template <typename C>
inline C gelu_tanh(C x) {
  const C k0 = static_cast<C>(0.7978845608028654);  // sqrt(2/pi)
  const C k1 = static_cast<C>(0.044715);
  return static_cast<C>(0.5) * x * (static_cast<C>(1) + std::tanh(k0 * (x + k1 * x * x * x)));
}

template <typename T>
void unary_typed(UnaryOp op, const TensorView& src, const TensorView& dst, double p0, double p1) {
  using C = compute_t<T>;
  const C a = static_cast<C>(p0), b = static_cast<C>(p1);
  switch (op) {
    case UnaryOp::Neg:
      return unary_loop<T, T>(src, dst, [](C x) { return static_cast<C>(-x); });
    case UnaryOp::Abs:
      return unary_loop<T, T>(src, dst, [](C x) { return x < 0 ? static_cast<C>(-x) : x; });
    case UnaryOp::Square:
      return unary_loop<T, T>(src, dst, [](C x) { return static_cast<C>(x * x); });
    case UnaryOp::Sign:
      return unary_loop<T, T>(
          src, dst, [](C x) { return static_cast<C>((C(0) < x) - (x < C(0))); });
    case UnaryOp::AddScalar:
      return unary_loop<T, T>(src, dst, [p0, p1](C x) {
        if constexpr (std::is_floating_point_v<C>) {
          return static_cast<C>(static_cast<C>(p0) * x + static_cast<C>(p1));
        } else {
          return static_cast<C>(static_cast<double>(x) * p0 + p1);
        }
      });
    case UnaryOp::DivScalar:
      return unary_loop<T, T>(src, dst, [a](C x) { return static_cast<C>(x / a); });
    case UnaryOp::Clamp:
      return unary_loop<T, T>(src, dst, [p0, p1](C x) {
        if constexpr (std::is_floating_point_v<C>) {
          if (std::isnan(x))
            return x;
        }
        double v = static_cast<double>(x);
        if (!std::isnan(p0) && v < p0)
          v = p0;
        if (!std::isnan(p1) && v > p1)
          v = p1;
        return static_cast<C>(v);
      });
    case UnaryOp::LogicalNot:
      return unary_loop<T, bool>(src, dst, [](C x) { return x == C(0); });
    case UnaryOp::IsNan:
      return unary_loop<T, bool>(src, dst, [](C x) {
        if constexpr (std::is_floating_point_v<C>)
          return std::isnan(x);
        return false;
      });
    case UnaryOp::IsInf:
      return unary_loop<T, bool>(src, dst, [](C x) {
        if constexpr (std::is_floating_point_v<C>)
          return std::isinf(x);
        return false;
      });
    case UnaryOp::IsFinite:
      return unary_loop<T, bool>(src, dst, [](C x) {
        if constexpr (std::is_floating_point_v<C>)
          return std::isfinite(x);
        return true;
      });
    default:
      break;
  }
  if constexpr (!std::is_floating_point_v<C>) {
    throw DTypeError(
        std::string("[") + op_name(op) + "] expected a floating-point tensor, got " +
        dtype_name(src.dtype));
  } else {
    switch (op) {
      case UnaryOp::Exp:
        if constexpr (std::is_same_v<T, float>)
          return exp_f32(src, dst);
        return unary_loop<T, T>(src, dst, [](C x) { return std::exp(x); });
      case UnaryOp::Log:
        return unary_loop<T, T>(src, dst, [](C x) { return std::log(x); });
      case UnaryOp::Log1p:
        return unary_loop<T, T>(src, dst, [](C x) { return std::log1p(x); });
      case UnaryOp::Expm1:
        return unary_loop<T, T>(src, dst, [](C x) { return std::expm1(x); });
      case UnaryOp::Sqrt:
        return unary_loop<T, T>(src, dst, [](C x) { return std::sqrt(x); });
      case UnaryOp::Rsqrt:
        return unary_loop<T, T>(src, dst, [](C x) { return C(1) / std::sqrt(x); });
      case UnaryOp::Reciprocal:
        return unary_loop<T, T>(src, dst, [](C x) { return C(1) / x; });
      case UnaryOp::Sin:
        return unary_loop<T, T>(src, dst, [](C x) { return std::sin(x); });
      case UnaryOp::Cos:
        return unary_loop<T, T>(src, dst, [](C x) { return std::cos(x); });
      case UnaryOp::Tanh:
        return unary_loop<T, T>(src, dst, [](C x) { return std::tanh(x); });
      case UnaryOp::Sigmoid:
        return unary_loop<T, T>(src, dst, [](C x) { return C(1) / (C(1) + std::exp(-x)); });
      case UnaryOp::Relu:
        return unary_loop<T, T>(
            src, dst, [](C x) { return x > C(0) ? x : (std::isnan(x) ? x : C(0)); });
      case UnaryOp::GeluErf:
        return unary_loop<T, T>(src, dst, [](C x) {
          return static_cast<C>(0.5) * x *
                 (C(1) + std::erf(x * static_cast<C>(0.7071067811865476)));
        });
      case UnaryOp::GeluTanh:
        return unary_loop<T, T>(src, dst, [](C x) { return gelu_tanh(x); });
      case UnaryOp::Silu:
        return unary_loop<T, T>(src, dst, [](C x) { return x / (C(1) + std::exp(-x)); });
      case UnaryOp::Softplus:
        // PyTorch: x when beta*x > threshold, else log1p(exp(beta*x)) / beta.
        return unary_loop<T, T>(
            src, dst, [a, b](C x) { return a * x > b ? x : std::log1p(std::exp(a * x)) / a; });
      case UnaryOp::Erf:
        return unary_loop<T, T>(src, dst, [](C x) { return std::erf(x); });
      case UnaryOp::Floor:
        return unary_loop<T, T>(src, dst, [](C x) { return std::floor(x); });
      case UnaryOp::Ceil:
        return unary_loop<T, T>(src, dst, [](C x) { return std::ceil(x); });
      case UnaryOp::Round:
        return unary_loop<T, T>(src, dst, [](C x) { return std::nearbyint(x); });
      case UnaryOp::PowScalar:
        if (p0 == 2.0)
          return unary_loop<T, T>(src, dst, [](C x) { return x * x; });
        if (p0 == 0.5)
          return unary_loop<T, T>(src, dst, [](C x) { return std::sqrt(x); });
        return unary_loop<T, T>(src, dst, [a](C x) { return std::pow(x, a); });
      default:
        break;
    }
  }
  throw Error(std::string("[cpu unary] op ") + op_name(op) + " not implemented");
}

}  // namespace

void CpuBackend::unary(
    UnaryOp op, const TensorView& src, const TensorView& dst, double p0, double p1) {
  dispatch_dtype(src.dtype, [&]<typename T>() {
    if constexpr (std::is_same_v<T, bool>) {
      switch (op) {
        case UnaryOp::LogicalNot:
          return unary_loop<bool, bool>(src, dst, [](bool x) { return !x; });
        case UnaryOp::IsNan:
        case UnaryOp::IsInf:
          return unary_loop<bool, bool>(src, dst, [](bool) { return false; });
        case UnaryOp::IsFinite:
          return unary_loop<bool, bool>(src, dst, [](bool) { return true; });
        default:
          throw DTypeError(
              std::string("[") + op_name(op) +
              "] is not supported for bool tensors; convert first");
      }
    } else {
      unary_typed<T>(op, src, dst, p0, p1);
    }
  });
}

}  // namespace peftcpp::cpu
