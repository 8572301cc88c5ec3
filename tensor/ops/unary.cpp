// Unary element-wise ops, scalar arithmetic, and their backward formulas.
#include <cmath>
#include <limits>

#include "tensor/ops.h"
#include "tensor/ops/op_utils.h"

namespace peftcpp {
namespace {
using namespace ops_detail;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Runs the kernel (no autograd). `float_only`: integer inputs are promoted to float32 first.
Tensor unary_kernel(UnaryOp op, const char* name, const Tensor& x, double p0 = 0.0, double p1 = 0.0,
                    bool float_only = true) {
  check_defined(x, name);
  Tensor in = x.detach();
  if (float_only && !is_floating_point(in.dtype())) in = in.to(kFloat32);
  const bool to_bool = op == UnaryOp::LogicalNot || op == UnaryOp::IsNan || op == UnaryOp::IsInf || op == UnaryOp::IsFinite;
  Tensor out = empty(in.shape(), to_bool ? kBool : in.dtype(), in.device());
  backend_of(in).unary(op, view_of(in), view_of(out), p0, p1);
  return out;
}

Tensor finish(const char* name, const Tensor& x, Tensor out, FunctionNode::BackwardFn fn) {
  TensorList outs{std::move(out)};
  record_function(name, {x}, outs, std::move(fn));
  return outs[0];
}

// y = f(x) with dy/dx computed from (x, y).
template <typename Deriv>
Tensor unary_op(UnaryOp op, const char* name, const char* bw_name, const Tensor& x, Deriv deriv, double p0 = 0.0,
                double p1 = 0.0, bool float_only = true) {
  Tensor out = unary_kernel(op, name, x, p0, p1, float_only);
  if (!any_requires_grad({x})) return out;
  SavedTensor sx(x), sy(out);
  return finish(bw_name, x, out, [sx, sy, deriv, name](const TensorList& g) -> TensorList {
    return {deriv(g[0], sx.get(name), sy.get(name))};
  });
}

}  // namespace

Tensor neg(const Tensor& x) {
  return unary_op(UnaryOp::Neg, "neg", "NegBackward", x,
                  [](const Tensor& g, const Tensor&, const Tensor&) { return neg(g); }, 0, 0, false);
}
Tensor abs(const Tensor& x) {
  return unary_op(UnaryOp::Abs, "abs", "AbsBackward", x,
                  [](const Tensor& g, const Tensor& xv, const Tensor&) { return mul(g, sign(xv)); }, 0, 0, false);
}
Tensor exp(const Tensor& x) {
  return unary_op(UnaryOp::Exp, "exp", "ExpBackward", x,
                  [](const Tensor& g, const Tensor&, const Tensor& y) { return mul(g, y); });
}
Tensor log(const Tensor& x) {
  return unary_op(UnaryOp::Log, "log", "LogBackward", x,
                  [](const Tensor& g, const Tensor& xv, const Tensor&) { return div(g, xv); });
}
Tensor log1p(const Tensor& x) {
  return unary_op(UnaryOp::Log1p, "log1p", "Log1pBackward", x,
                  [](const Tensor& g, const Tensor& xv, const Tensor&) { return div(g, add(xv, 1.0)); });
}
Tensor expm1(const Tensor& x) {
  return unary_op(UnaryOp::Expm1, "expm1", "Expm1Backward", x,
                  [](const Tensor& g, const Tensor&, const Tensor& y) { return mul(g, add(y, 1.0)); });
}
Tensor sqrt(const Tensor& x) {
  return unary_op(UnaryOp::Sqrt, "sqrt", "SqrtBackward", x,
                  [](const Tensor& g, const Tensor&, const Tensor& y) { return div(g, mul(y, 2.0)); });
}
Tensor rsqrt(const Tensor& x) {
  return unary_op(UnaryOp::Rsqrt, "rsqrt", "RsqrtBackward", x, [](const Tensor& g, const Tensor&, const Tensor& y) {
    return mul(g, mul(pow(y, 3.0), -0.5));
  });
}
Tensor reciprocal(const Tensor& x) {
  return unary_op(UnaryOp::Reciprocal, "reciprocal", "ReciprocalBackward", x,
                  [](const Tensor& g, const Tensor&, const Tensor& y) { return neg(mul(g, mul(y, y))); });
}
Tensor square(const Tensor& x) {
  return unary_op(UnaryOp::Square, "square", "SquareBackward", x,
                  [](const Tensor& g, const Tensor& xv, const Tensor&) { return mul(g, mul(xv, 2.0)); }, 0, 0, false);
}
Tensor sin(const Tensor& x) {
  return unary_op(UnaryOp::Sin, "sin", "SinBackward", x,
                  [](const Tensor& g, const Tensor& xv, const Tensor&) { return mul(g, cos(xv)); });
}
Tensor cos(const Tensor& x) {
  return unary_op(UnaryOp::Cos, "cos", "CosBackward", x,
                  [](const Tensor& g, const Tensor& xv, const Tensor&) { return neg(mul(g, sin(xv))); });
}
Tensor tanh(const Tensor& x) {
  return unary_op(UnaryOp::Tanh, "tanh", "TanhBackward", x,
                  [](const Tensor& g, const Tensor&, const Tensor& y) { return mul(g, rsub(mul(y, y), 1.0)); });
}
Tensor sigmoid(const Tensor& x) {
  return unary_op(UnaryOp::Sigmoid, "sigmoid", "SigmoidBackward", x,
                  [](const Tensor& g, const Tensor&, const Tensor& y) { return mul(g, mul(y, rsub(y, 1.0))); });
}
Tensor relu(const Tensor& x) {
  return unary_op(UnaryOp::Relu, "relu", "ReluBackward", x,
                  [](const Tensor& g, const Tensor&, const Tensor& y) { return where(gt(y, 0.0), g, zeros_like(g)); });
}
Tensor gelu(const Tensor& x, const std::string& approximate) {
  if (approximate == "tanh") {
    return unary_op(UnaryOp::GeluTanh, "gelu", "GeluBackward", x, [](const Tensor& g, const Tensor& xv, const Tensor&) {
      const double k0 = 0.7978845608028654, k1 = 0.044715;
      Tensor x2 = mul(xv, xv);
      Tensor inner = mul(add(xv, mul(mul(x2, xv), k1)), k0);
      Tensor t = tanh(inner);
      Tensor dinner = mul(add(mul(x2, 3.0 * k1), 1.0), k0);
      Tensor d = add(mul(add(t, 1.0), 0.5), mul(mul(mul(xv, 0.5), rsub(mul(t, t), 1.0)), dinner));
      return mul(g, d);
    });
  }
  PEFTCPP_CHECK(approximate == "none", "[gelu] approximate must be 'none' or 'tanh', got '", approximate, "'");
  return unary_op(UnaryOp::GeluErf, "gelu", "GeluBackward", x, [](const Tensor& g, const Tensor& xv, const Tensor&) {
    Tensor cdf = mul(add(erf(mul(xv, 0.7071067811865476)), 1.0), 0.5);
    Tensor pdf = mul(exp(mul(mul(xv, xv), -0.5)), 0.3989422804014327);
    return mul(g, add(cdf, mul(xv, pdf)));
  });
}
Tensor silu(const Tensor& x) {
  return unary_op(UnaryOp::Silu, "silu", "SiluBackward", x, [](const Tensor& g, const Tensor& xv, const Tensor&) {
    Tensor s = sigmoid(xv);
    return mul(g, mul(s, add(mul(xv, rsub(s, 1.0)), 1.0)));
  });
}
Tensor softplus(const Tensor& x, double beta, double threshold) {
  return unary_op(
      UnaryOp::Softplus, "softplus", "SoftplusBackward", x,
      [beta, threshold](const Tensor& g, const Tensor& xv, const Tensor&) {
        Tensor bx = mul(xv, beta);
        return where(gt(bx, threshold), g, mul(g, sigmoid(bx)));
      },
      beta, threshold);
}
Tensor erf(const Tensor& x) {
  return unary_op(UnaryOp::Erf, "erf", "ErfBackward", x, [](const Tensor& g, const Tensor& xv, const Tensor&) {
    return mul(g, mul(exp(neg(mul(xv, xv))), 1.1283791670955126));
  });
}

namespace {
// Piecewise-constant ops: gradient zero.
Tensor zero_grad_op(UnaryOp op, const char* name, const Tensor& x, bool float_only) {
  return unary_op(op, name, "ZeroBackward", x,
                  [](const Tensor& g, const Tensor&, const Tensor&) { return zeros_like(g); }, 0, 0, float_only);
}
}  // namespace

Tensor sign(const Tensor& x) {
  return zero_grad_op(UnaryOp::Sign, "sign", x, false);
}
Tensor floor(const Tensor& x) {
  return is_floating_point(x.dtype()) ? zero_grad_op(UnaryOp::Floor, "floor", x, true) : x;
}
Tensor ceil(const Tensor& x) {
  return is_floating_point(x.dtype()) ? zero_grad_op(UnaryOp::Ceil, "ceil", x, true) : x;
}
Tensor round(const Tensor& x) {
  return is_floating_point(x.dtype()) ? zero_grad_op(UnaryOp::Round, "round", x, true) : x;
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  return unary_op(
      UnaryOp::Clamp, "clamp", "ClampBackward", x,
      [lo, hi](const Tensor& g, const Tensor& xv, const Tensor&) {
        Tensor inside = ones(xv.shape(), kBool, xv.device());
        if (!std::isnan(lo)) inside = logical_and(inside, ge(xv, lo));
        if (!std::isnan(hi)) inside = logical_and(inside, le(xv, hi));
        return where(inside, g, zeros_like(g));
      },
      lo, hi, false);
}
Tensor clamp_min(const Tensor& x, double lo) {
  return clamp(x, lo, kNaN);
}
Tensor clamp_max(const Tensor& x, double hi) {
  return clamp(x, kNaN, hi);
}

Tensor pow(const Tensor& a, double e) {
  check_defined(a, "pow");
  PEFTCPP_CHECK(is_floating_point(a.dtype()) || e >= 0 || e != std::floor(e),
                "[pow] integers to negative integer powers are not allowed (", dtype_name(a.dtype()),
                " tensor ** ", e, ")");
  if (!is_floating_point(a.dtype()) && e != std::floor(e)) return pow(a.to(kFloat32), e);
  if (!is_floating_point(a.dtype())) return pow(a, scalar_tensor(e, a.dtype(), a.device()));
  return unary_op(
      UnaryOp::PowScalar, "pow", "PowBackward", a,
      [e](const Tensor& g, const Tensor& xv, const Tensor&) {
        if (e == 0.0) return zeros_like(g);
        if (e == 1.0) return g;
        return mul(g, mul(pow(xv, e - 1.0), e));
      },
      e);
}

// ---- scalar arithmetic: y = p0 * x + p1 ----
namespace {
Tensor affine(const Tensor& x, double scale, double shift, const char* name) {
  check_defined(x, name);
  // integer tensors with non-integer scalars become float32, bool with integer ones int64, as PyTorch
  const bool int_ok = !is_floating_point(x.dtype()) && scale == std::floor(scale) && shift == std::floor(shift);
  const Tensor in = int_ok && x.dtype() == kBool ? x.to(kInt64) : x;
  const bool to_float = !int_ok && !is_floating_point(x.dtype());
  Tensor out = unary_kernel(UnaryOp::AddScalar, name, in, scale, shift, to_float);
  if (!any_requires_grad({x})) return out;
  return finish("AffineBackward", x, out, [scale](const TensorList& g) -> TensorList {
    return {scale == 1.0 ? g[0] : mul(g[0], scale)};
  });
}
}  // namespace

Tensor add(const Tensor& a, double b) {
  return affine(a, 1.0, b, "add");
}
Tensor sub(const Tensor& a, double b) {
  return affine(a, 1.0, -b, "sub");
}
Tensor mul(const Tensor& a, double b) {
  return affine(a, b, 0.0, "mul");
}
Tensor rsub(const Tensor& a, double b) {
  return affine(a, -1.0, b, "rsub");
}
Tensor div(const Tensor& a, double b) {
  Tensor out = unary_kernel(UnaryOp::DivScalar, "div", a, b, 0.0, true);
  if (!any_requires_grad({a})) return out;
  return finish("DivScalarBackward", a, out, [b](const TensorList& g) -> TensorList { return {div(g[0], b)}; });
}

Tensor logical_not(const Tensor& x) {
  return unary_kernel(UnaryOp::LogicalNot, "logical_not", x, 0, 0, false);
}
Tensor isnan(const Tensor& x) {
  return unary_kernel(UnaryOp::IsNan, "isnan", x, 0, 0, false);
}
Tensor isinf(const Tensor& x) {
  return unary_kernel(UnaryOp::IsInf, "isinf", x, 0, 0, false);
}
Tensor isfinite(const Tensor& x) {
  return unary_kernel(UnaryOp::IsFinite, "isfinite", x, 0, 0, false);
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  if (a.shape() != b.shape()) return false;
  NoGradGuard ng;
  Tensor ad = a.detach().to(kCPU).to(kFloat64), bd = b.detach().to(kCPU).to(kFloat64);
  Tensor ok = le(abs(sub(ad, bd)), add(mul(abs(bd), rtol), atol));
  // an infinity is close only to the same infinity (inf <= inf above would accept -inf); NaN never
  ok = logical_or(logical_and(ok, logical_and(isfinite(ad), isfinite(bd))), eq(ad, bd));
  return all(ok).item<bool>();
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  PEFTCPP_CHECK_SHAPE(a.shape() == b.shape(), "[max_abs_diff] shapes differ: ", shape_str(a.shape()), " vs ",
                      shape_str(b.shape()));
  if (a.numel() == 0) return 0.0;
  NoGradGuard ng;
  Tensor d = abs(sub(a.detach().to(kCPU).to(kFloat64), b.detach().to(kCPU).to(kFloat64)));
  if (any(isnan(d)).item<bool>()) return kNaN;
  return amax(d).item<double>();
}

Tensor operator-(const Tensor& x) {
  return neg(x);
}
Tensor operator+(const Tensor& a, double b) {
  return add(a, b);
}
Tensor operator-(const Tensor& a, double b) {
  return sub(a, b);
}
Tensor operator*(const Tensor& a, double b) {
  return mul(a, b);
}
Tensor operator/(const Tensor& a, double b) {
  return div(a, b);
}
Tensor operator+(double a, const Tensor& b) {
  return add(b, a);
}
Tensor operator-(double a, const Tensor& b) {
  return rsub(b, a);
}
Tensor operator*(double a, const Tensor& b) {
  return mul(b, a);
}
Tensor operator/(double a, const Tensor& b) {
  return mul(reciprocal(b), a);
}

}  // namespace peftcpp
