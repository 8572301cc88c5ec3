// Binary element-wise kernels and where(). Inputs share a dtype (ops promote first).
#include <cmath>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/elementwise_loop.h"
#include "tensor/cpu/simd/simd_kernels.h"

namespace peftcpp::cpu {
namespace {

// float32 add/sub/mul/div: contiguous (or scalar-broadcast) runs go to the vectorised kernel,
// with streaming stores for large outputs; other runs use the same formulas element by element.
void binary_f32(
    simd::BinaryKind kind,
    const TensorView& a,
    const TensorView& b,
    const TensorView& dst,
    double p0) {
  const simd::KernelTable& k = simd::kernels();
  const float alpha = static_cast<float>(p0);
  const bool nt = dst.numel() * static_cast<std::int64_t>(sizeof(float)) >= simd::kNonTemporalBytes;
  StridedLayout<3> L = make_layout<3>({&dst, &a, &b});
  for_each_strided<3>(
      L, [&](std::array<char*, 3> p, std::array<std::int64_t, 3> s, std::int64_t n) {
        constexpr std::int64_t f = sizeof(float);
        if (s[0] == f && (s[1] == f || s[1] == 0) && (s[2] == f || s[2] == 0)) {
          k.binary(
              kind,
              reinterpret_cast<const float*>(p[1]),
              s[1] / f,
              reinterpret_cast<const float*>(p[2]),
              s[2] / f,
              reinterpret_cast<float*>(p[0]),
              n,
              alpha,
              nt);
          return;
        }
        for (std::int64_t i = 0; i < n; ++i) {
          const float x = *reinterpret_cast<const float*>(p[1] + i * s[1]);
          const float y = *reinterpret_cast<const float*>(p[2] + i * s[2]);
          float r = 0;
          switch (kind) {
            case simd::BinaryKind::Add:
              r = x + alpha * y;
              break;
            case simd::BinaryKind::Sub:
              r = x - alpha * y;
              break;
            case simd::BinaryKind::Mul:
              r = x * y;
              break;
            case simd::BinaryKind::Div:
              r = x / y;
              break;
          }
          *reinterpret_cast<float*>(p[0] + i * s[0]) = r;
        }
      });
}

template <typename C>
[[maybe_unused]] C py_pow(C x, C y) {
  if constexpr (std::is_floating_point_v<C>) {
    return std::pow(x, y);
  } else if constexpr (std::is_same_v<C, bool>) {
    return x || !y;
  } else {
    // integer power by squaring (negative exponents: 0 except for |x| == 1, as PyTorch)
    if (y < 0)
      return x == 1 ? C(1) : (x == -1 ? ((y % 2) ? C(-1) : C(1)) : C(0));
    C r = 1, base = x;
    auto e = y;
    while (e) {
      if (e & 1)
        r = static_cast<C>(r * base);
      base = static_cast<C>(base * base);
      e >>= 1;
    }
    return r;
  }
}

template <typename T>
void binary_typed(
    BinaryOp op, const TensorView& a, const TensorView& b, const TensorView& dst, double p0) {
  using C = compute_t<T>;
  if constexpr (std::is_same_v<T, float>) {
    switch (op) {
      case BinaryOp::Add:
        return binary_f32(simd::BinaryKind::Add, a, b, dst, p0);
      case BinaryOp::Sub:
        return binary_f32(simd::BinaryKind::Sub, a, b, dst, p0);
      case BinaryOp::Mul:
        return binary_f32(simd::BinaryKind::Mul, a, b, dst, p0);
      case BinaryOp::Div:
        return binary_f32(simd::BinaryKind::Div, a, b, dst, p0);
      default:
        break;
    }
  }
  switch (op) {
    case BinaryOp::Add:
      if (p0 == 1.0)
        return binary_loop<T, T>(a, b, dst, [](C x, C y) { return static_cast<C>(x + y); });
      return binary_loop<T, T>(
          a, b, dst, [al = static_cast<C>(p0)](C x, C y) { return static_cast<C>(x + al * y); });
    case BinaryOp::Sub:
      if (p0 == 1.0)
        return binary_loop<T, T>(a, b, dst, [](C x, C y) { return static_cast<C>(x - y); });
      return binary_loop<T, T>(
          a, b, dst, [al = static_cast<C>(p0)](C x, C y) { return static_cast<C>(x - al * y); });
    case BinaryOp::Mul:
      return binary_loop<T, T>(a, b, dst, [](C x, C y) { return static_cast<C>(x * y); });
    case BinaryOp::Div:
      return binary_loop<T, T>(a, b, dst, [](C x, C y) {
        if constexpr (std::is_floating_point_v<C>) {
          return x / y;
        } else {
          return y == 0 ? C(0) : static_cast<C>(x / y);  // ops check for zero divisors first
        }
      });
    case BinaryOp::Pow:
      return binary_loop<T, T>(a, b, dst, [](C x, C y) { return py_pow(x, y); });
    case BinaryOp::Maximum:
      return binary_loop<T, T>(a, b, dst, [](C x, C y) {
        if constexpr (std::is_floating_point_v<C>) {
          if (std::isnan(x) || std::isnan(y))
            return std::numeric_limits<C>::quiet_NaN();
        }
        return x > y ? x : y;
      });
    case BinaryOp::Minimum:
      return binary_loop<T, T>(a, b, dst, [](C x, C y) {
        if constexpr (std::is_floating_point_v<C>) {
          if (std::isnan(x) || std::isnan(y))
            return std::numeric_limits<C>::quiet_NaN();
        }
        return x < y ? x : y;
      });
    case BinaryOp::Atan2:
      return binary_loop<T, T>(a, b, dst, [](C x, C y) {
        return static_cast<C>(std::atan2(static_cast<double>(x), static_cast<double>(y)));
      });
    case BinaryOp::Eq:
      return binary_loop<T, bool>(a, b, dst, [](C x, C y) { return x == y; });
    case BinaryOp::Ne:
      return binary_loop<T, bool>(a, b, dst, [](C x, C y) { return x != y; });
    case BinaryOp::Lt:
      return binary_loop<T, bool>(a, b, dst, [](C x, C y) { return x < y; });
    case BinaryOp::Le:
      return binary_loop<T, bool>(a, b, dst, [](C x, C y) { return x <= y; });
    case BinaryOp::Gt:
      return binary_loop<T, bool>(a, b, dst, [](C x, C y) { return x > y; });
    case BinaryOp::Ge:
      return binary_loop<T, bool>(a, b, dst, [](C x, C y) { return x >= y; });
    case BinaryOp::LogicalAnd:
      return binary_loop<T, bool>(a, b, dst, [](C x, C y) { return x != C(0) && y != C(0); });
    case BinaryOp::LogicalOr:
      return binary_loop<T, bool>(a, b, dst, [](C x, C y) { return x != C(0) || y != C(0); });
    case BinaryOp::LogicalXor:
      return binary_loop<T, bool>(a, b, dst, [](C x, C y) { return (x != C(0)) != (y != C(0)); });
  }
  throw Error(std::string("[cpu binary] op ") + op_name(op) + " not implemented");
}

}  // namespace

void CpuBackend::binary(
    BinaryOp op, const TensorView& a, const TensorView& b, const TensorView& dst, double p0) {
  dispatch_dtype(a.dtype, [&]<typename T>() {
    if constexpr (std::is_same_v<T, bool>) {
      // bool arithmetic runs as uint8 and is stored back as bool (0/1)
      switch (op) {
        case BinaryOp::Add:
        case BinaryOp::Maximum:
          return binary_loop<bool, bool>(a, b, dst, [](bool x, bool y) { return x || y; });
        case BinaryOp::Mul:
        case BinaryOp::Minimum:
          return binary_loop<bool, bool>(a, b, dst, [](bool x, bool y) { return x && y; });
        case BinaryOp::Eq:
          return binary_loop<bool, bool>(a, b, dst, [](bool x, bool y) { return x == y; });
        case BinaryOp::Ne:
        case BinaryOp::LogicalXor:
          return binary_loop<bool, bool>(a, b, dst, [](bool x, bool y) { return x != y; });
        case BinaryOp::Lt:
          return binary_loop<bool, bool>(a, b, dst, [](bool x, bool y) { return !x && y; });
        case BinaryOp::Le:
          return binary_loop<bool, bool>(a, b, dst, [](bool x, bool y) { return !x || y; });
        case BinaryOp::Gt:
          return binary_loop<bool, bool>(a, b, dst, [](bool x, bool y) { return x && !y; });
        case BinaryOp::Ge:
          return binary_loop<bool, bool>(a, b, dst, [](bool x, bool y) { return x || !y; });
        case BinaryOp::LogicalAnd:
          return binary_loop<bool, bool>(a, b, dst, [](bool x, bool y) { return x && y; });
        case BinaryOp::LogicalOr:
          return binary_loop<bool, bool>(a, b, dst, [](bool x, bool y) { return x || y; });
        default:
          throw DTypeError(
              std::string("[") + op_name(op) +
              "] is not supported for bool tensors; convert first");
      }
    } else {
      binary_typed<T>(op, a, b, dst, p0);
    }
  });
}

void CpuBackend::where(
    const TensorView& cond, const TensorView& a, const TensorView& b, const TensorView& dst) {
  StridedLayout<4> L = make_layout<4>({&dst, &cond, &a, &b});
  dispatch_dtype(dst.dtype, [&]<typename T>() {
    for_each_strided<4>(
        L, [](std::array<char*, 4> p, std::array<std::int64_t, 4> s, std::int64_t n) {
          for (std::int64_t i = 0; i < n; ++i) {
            const bool c = *reinterpret_cast<const bool*>(p[1] + i * s[1]);
            *reinterpret_cast<T*>(p[0] + i * s[0]) =
                *reinterpret_cast<const T*>(c ? p[2] + i * s[2] : p[3] + i * s[3]);
          }
        });
  });
}

}  // namespace peftcpp::cpu
