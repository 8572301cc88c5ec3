// Binary element-wise ops with broadcasting, promotion and their backward formulas.
#include <cmath>

#include "tensor/ops.h"
#include "tensor/ops/op_utils.h"

namespace peftcpp {
namespace ops_detail {

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const std::int64_t lead = grad.dim() - static_cast<std::int64_t>(shape.size());
  Dims dims;
  for (std::int64_t i = 0; i < grad.dim(); ++i) {
    if (i < lead || (shape[static_cast<std::size_t>(i - lead)] == 1 && grad.shape()[static_cast<std::size_t>(i)] != 1)) {
      dims.push_back(i);
    }
  }
  Tensor r = dims.empty() ? grad : sum(grad, dims, true);
  return r.reshape(shape);
}

}  // namespace ops_detail

namespace {
using namespace ops_detail;

bool is_comparison(BinaryOp op) {
  return op >= BinaryOp::Eq;
}

DType result_type(const Tensor& a, const Tensor& b, const char* name) {
  check_defined(a, name);
  check_defined(b, name);
  // A 0-d tensor of the same category does not widen the other operand (PyTorch's rule).
  auto cat = [](DType d) { return d == kBool ? 0 : (is_floating_point(d) ? 2 : 1); };
  if (a.dim() == 0 && b.dim() != 0 && cat(a.dtype()) <= cat(b.dtype())) return b.dtype();
  if (b.dim() == 0 && a.dim() != 0 && cat(b.dtype()) <= cat(a.dtype())) return a.dtype();
  return promote_types(a.dtype(), b.dtype());
}

// Runs the kernel; no autograd.
Tensor binary_kernel(BinaryOp op, const char* name, const Tensor& a, const Tensor& b, double p0, DType compute) {
  check_defined(a, name);
  check_defined(b, name);
  check_same_device(a, b, name);
  const Shape out_shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor ac = a.dtype() == compute ? a.detach() : a.detach().to(compute);
  Tensor bc = b.dtype() == compute ? b.detach() : b.detach().to(compute);
  if (is_integral(compute) && (op == BinaryOp::Div)) {
    PEFTCPP_CHECK(!any(eq(bc, 0.0)).item<bool>(), "[", name, "] integer division by zero");
  }
  const DType out_dtype = is_comparison(op) ? kBool : compute;
  Tensor out = empty(out_shape, out_dtype, a.device());
  backend_of(a).binary(op, view_of(ac.expand(out_shape)), view_of(bc.expand(out_shape)), view_of(out), p0);
  return out;
}

Tensor finish(const char* name, const Tensor& a, const Tensor& b, Tensor out, FunctionNode::BackwardFn fn) {
  TensorList outs{std::move(out)};
  record_function(name, {a, b}, outs, std::move(fn));
  return outs[0];
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b, double alpha) {
  Tensor out = binary_kernel(BinaryOp::Add, "add", a, b, alpha, result_type(a, b, "add"));
  if (!any_requires_grad({a, b})) return out;
  const Shape sa = a.shape(), sb = b.shape();
  return finish("AddBackward", a, b, out, [sa, sb, alpha](const TensorList& g) -> TensorList {
    return {sum_to(g[0], sa), sum_to(alpha == 1.0 ? g[0] : mul(g[0], alpha), sb)};
  });
}

Tensor sub(const Tensor& a, const Tensor& b, double alpha) {
  Tensor out = binary_kernel(BinaryOp::Sub, "sub", a, b, alpha, result_type(a, b, "sub"));
  if (!any_requires_grad({a, b})) return out;
  const Shape sa = a.shape(), sb = b.shape();
  return finish("SubBackward", a, b, out, [sa, sb, alpha](const TensorList& g) -> TensorList {
    return {sum_to(g[0], sa), sum_to(mul(g[0], -alpha), sb)};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::Mul, "mul", a, b, 1.0, result_type(a, b, "mul"));
  if (!any_requires_grad({a, b})) return out;
  const Shape sa = a.shape(), sb = b.shape();
  SavedTensor sva(b.requires_grad() ? a : Tensor()), svb(a.requires_grad() ? b : Tensor());
  return finish("MulBackward", a, b, out, [sa, sb, sva, svb](const TensorList& g) -> TensorList {
    Tensor ga, gb;
    if (svb.defined()) ga = sum_to(mul(g[0], svb.get("mul")), sa);
    if (sva.defined()) gb = sum_to(mul(g[0], sva.get("mul")), sb);
    return {ga, gb};
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  DType rt = result_type(a, b, "div");
  if (!is_floating_point(rt)) rt = kFloat32;
  Tensor out = binary_kernel(BinaryOp::Div, "div", a, b, 1.0, rt);
  if (!any_requires_grad({a, b})) return out;
  const Shape sa = a.shape(), sb = b.shape();
  SavedTensor sva(b.requires_grad() ? a : Tensor()), svb(b);
  return finish("DivBackward", a, b, out, [sa, sb, sva, svb](const TensorList& g) -> TensorList {
    const Tensor bv = svb.get("div");
    Tensor ga = sum_to(div(g[0], bv), sa);
    Tensor gb;
    if (sva.defined()) gb = sum_to(neg(div(mul(g[0], sva.get("div")), mul(bv, bv))), sb);
    return {ga, gb};
  });
}

Tensor pow(const Tensor& a, const Tensor& b) {
  const DType rt = result_type(a, b, "pow");
  if (is_integral(rt) && rt != kBool) {
    // PyTorch: "Integers to negative integer powers are not allowed"
    PEFTCPP_CHECK(!any(lt(b, 0.0)).item<bool>(), "[pow] integers to negative integer powers are not allowed (",
                  dtype_name(a.dtype()), " base, exponent shape ", shape_str(b.shape()), ")");
  }
  Tensor out = binary_kernel(BinaryOp::Pow, "pow", a, b, 1.0, rt);
  if (!any_requires_grad({a, b})) return out;
  const Shape sa = a.shape(), sb = b.shape();
  SavedTensor sva(a), svb(b), svo(out);
  return finish("PowBackward", a, b, out, [sa, sb, sva, svb, svo](const TensorList& g) -> TensorList {
    const Tensor av = sva.get("pow"), bv = svb.get("pow");
    // d/da = b * a^(b-1) (0 where b == 0); d/db = a^b * log(a) (0 where a == 0 and b >= 0)
    Tensor da = where(eq(bv, 0.0), zeros_like(bv), mul(bv, pow(av, sub(bv, 1.0))));
    Tensor db = where(logical_and(eq(av, 0.0), ge(bv, 0.0)), zeros_like(av), mul(svo.get("pow"), log(av)));
    return {sum_to(mul(g[0], da), sa), sum_to(mul(g[0], db), sb)};
  });
}

namespace {
Tensor max_min(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(op, name, a, b, 1.0, result_type(a, b, name));
  if (!any_requires_grad({a, b})) return out;
  const Shape sa = a.shape(), sb = b.shape();
  SavedTensor sva(a), svb(b);
  const bool is_max = op == BinaryOp::Maximum;
  return finish(is_max ? "MaximumBackward" : "MinimumBackward", a, b, out,
                [sa, sb, sva, svb, is_max](const TensorList& g) -> TensorList {
                  const Tensor av = sva.get("maximum"), bv = svb.get("maximum");
                  // ties split the gradient evenly, as PyTorch
                  Tensor half = mul(g[0], 0.5);
                  Tensor a_wins = is_max ? gt(av, bv) : lt(av, bv);
                  Tensor b_wins = is_max ? lt(av, bv) : gt(av, bv);
                  Tensor tie = eq(av, bv);
                  Tensor z = zeros_like(g[0]);
                  Tensor ga = where(a_wins, g[0], where(tie, half, z));
                  Tensor gb = where(b_wins, g[0], where(tie, half, z));
                  return {sum_to(ga, sa), sum_to(gb, sb)};
                });
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) {
  return max_min(BinaryOp::Maximum, "maximum", a, b);
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return max_min(BinaryOp::Minimum, "minimum", a, b);
}

Tensor atan2(const Tensor& a, const Tensor& b) {
  DType rt = result_type(a, b, "atan2");
  if (!is_floating_point(rt)) rt = kFloat32;
  Tensor out = binary_kernel(BinaryOp::Atan2, "atan2", a, b, 1.0, rt);
  if (!any_requires_grad({a, b})) return out;
  const Shape sa = a.shape(), sb = b.shape();
  SavedTensor sva(a), svb(b);
  return finish("Atan2Backward", a, b, out, [sa, sb, sva, svb](const TensorList& g) -> TensorList {
    const Tensor av = sva.get("atan2"), bv = svb.get("atan2");
    Tensor den = add(mul(av, av), mul(bv, bv));
    return {sum_to(div(mul(g[0], bv), den), sa), sum_to(neg(div(mul(g[0], av), den)), sb)};
  });
}

// ---- comparisons / logic (not differentiable) ----
#define PEFTCPP_COMPARE(fn, kind)                                                        \
  Tensor fn(const Tensor& a, const Tensor& b) {                                          \
    return binary_kernel(BinaryOp::kind, #fn, a, b, 1.0, result_type(a, b, #fn));        \
  }                                                                                      \
  Tensor fn(const Tensor& a, double b) {                                                 \
    return fn(a, scalar_tensor(b, is_floating_point(a.dtype()) || b != std::floor(b)     \
                                      ? (is_floating_point(a.dtype()) ? a.dtype() : kFloat32) \
                                      : a.dtype(), a.device()));                         \
  }
PEFTCPP_COMPARE(eq, Eq)
PEFTCPP_COMPARE(ne, Ne)
PEFTCPP_COMPARE(lt, Lt)
PEFTCPP_COMPARE(le, Le)
PEFTCPP_COMPARE(gt, Gt)
PEFTCPP_COMPARE(ge, Ge)
#undef PEFTCPP_COMPARE

Tensor logical_and(const Tensor& a, const Tensor& b) {
  return binary_kernel(BinaryOp::LogicalAnd, "logical_and", a, b, 1.0,
                       result_type(a, b, "logical_and"));
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  return binary_kernel(BinaryOp::LogicalOr, "logical_or", a, b, 1.0,
                       result_type(a, b, "logical_or"));
}
Tensor logical_xor(const Tensor& a, const Tensor& b) {
  return binary_kernel(BinaryOp::LogicalXor, "logical_xor", a, b, 1.0,
                       result_type(a, b, "logical_xor"));
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_defined(cond, "where", "condition");
  check_defined(a, "where");
  check_defined(b, "where");
  check_same_device(a, b, "where");
  check_same_device(cond, a, "where");
  Tensor c = cond.dtype() == kBool ? cond : ne(cond, 0.0);
  const Shape out_shape = broadcast_shapes(broadcast_shapes(c.shape(), a.shape(), "where"), b.shape(), "where");
  const DType rt = result_type(a, b, "where");
  Tensor ac = cast_if_needed(a.detach(), rt), bc = cast_if_needed(b.detach(), rt);
  Tensor out = empty(out_shape, rt, a.device());
  backend_of(a).where(view_of(c.expand(out_shape)), view_of(ac.expand(out_shape)), view_of(bc.expand(out_shape)),
                      view_of(out));
  if (!any_requires_grad({a, b})) return out;
  const Shape sa = a.shape(), sb = b.shape();
  Tensor cd = c.detach();
  TensorList outs{out};
  record_function("WhereBackward", {a, b}, outs, [cd, sa, sb](const TensorList& g) -> TensorList {
    Tensor z = zeros_like(g[0]);
    return {sum_to(where(cd, g[0], z), sa), sum_to(where(cd, z, g[0]), sb)};
  });
  return outs[0];
}

Tensor where(const Tensor& cond, const Tensor& a, double b) {
  return where(cond, a, scalar_tensor(b, a.dtype(), a.device()));
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  PEFTCPP_CHECK_DTYPE(mask.dtype() == kBool, "[masked_fill] mask must be bool, got ", dtype_name(mask.dtype()));
  const Shape bs = broadcast_shapes(x.shape(), mask.shape(), "masked_fill");
  PEFTCPP_CHECK_SHAPE(bs == x.shape(), "[masked_fill] mask of shape ", shape_str(mask.shape()),
                      " does not broadcast to ", shape_str(x.shape()));
  return where(mask, scalar_tensor(value, x.dtype(), x.device()), x);
}

Tensor operator+(const Tensor& a, const Tensor& b) {
  return add(a, b);
}
Tensor operator-(const Tensor& a, const Tensor& b) {
  return sub(a, b);
}
Tensor operator*(const Tensor& a, const Tensor& b) {
  return mul(a, b);
}
Tensor operator/(const Tensor& a, const Tensor& b) {
  return div(a, b);
}

}  // namespace peftcpp
