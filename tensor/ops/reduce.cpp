// Reductions and the softmax family, with backward formulas.
#include "tensor/ops/reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tensor/ops.h"
#include "tensor/ops/op_utils.h"

namespace peftcpp {
namespace {
using namespace ops_detail;

Shape keepdim_shape(const Shape& in, const Dims& dims) {
  Shape s = in;
  for (std::int64_t d : dims) s[static_cast<std::size_t>(d)] = 1;
  return s;
}

Shape drop_dims(const Shape& in, const Dims& dims) {
  Shape s;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (std::find(dims.begin(), dims.end(), static_cast<std::int64_t>(i)) == dims.end()) s.push_back(in[i]);
  }
  return s;
}

DType sum_dtype(DType d) {
  return is_floating_point(d) ? d : kInt64;
}

// Raw reduction kernel into keepdim layout, then reshaped when !keepdim.
Tensor reduce_kernel(ReduceOp op, const char* name, const Tensor& x, const Dims& nd, bool keepdim, DType out_dtype) {
  check_defined(x, name);
  const Shape kshape = keepdim_shape(x.shape(), nd);
  Tensor out = empty(kshape, out_dtype, x.device());
  if (x.numel() == 0 && (op == ReduceOp::Max || op == ReduceOp::Min)) {
    PEFTCPP_CHECK_SHAPE(shape_numel(kshape) == 0, "[", name, "] cannot reduce an empty dimension of a ",
                        shape_str(x.shape()), " tensor (no identity)");
  }
  backend_of(x).reduce(op, view_of(x.detach()), view_of(out));
  return keepdim ? out : out.view(drop_dims(x.shape(), nd));
}

// Expands a reduced gradient back to the input shape.
Tensor expand_back(const Tensor& g, const Shape& in_shape, const Dims& nd, bool keepdim) {
  Tensor gk = keepdim ? g : g.reshape(keepdim_shape(in_shape, nd));
  return gk.expand(in_shape);
}

Tensor finish(const char* name, const Tensor& x, Tensor out, FunctionNode::BackwardFn fn) {
  TensorList outs{std::move(out)};
  record_function(name, {x}, outs, std::move(fn));
  return outs[0];
}

}  // namespace

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) {
  check_defined(x, "sum");
  const Dims nd = normalize_dims(dims, x.dim(), "sum");
  Tensor out = reduce_kernel(ReduceOp::Sum, "sum", x, nd, keepdim, sum_dtype(x.dtype()));
  if (!any_requires_grad({x})) return out;
  const Shape in_shape = x.shape();
  return finish("SumBackward", x, out, [in_shape, nd, keepdim](const TensorList& g) -> TensorList {
    return {expand_back(g[0], in_shape, nd, keepdim)};
  });
}

Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
  check_defined(x, "mean");
  PEFTCPP_CHECK_DTYPE(is_floating_point(x.dtype()), "[mean] expects a floating-point tensor, got ",
                      dtype_name(x.dtype()), "; convert it with .to(kFloat32)");
  const Dims nd = normalize_dims(dims, x.dim(), "mean");
  std::int64_t n = 1;
  for (std::int64_t d : nd) n *= x.shape()[static_cast<std::size_t>(d)];
  return div(sum(x, nd, keepdim), static_cast<double>(n));
}

Tensor prod(const Tensor& x, const Dims& dims, bool keepdim) {
  check_defined(x, "prod");
  const Dims nd = normalize_dims(dims, x.dim(), "prod");
  Tensor out = reduce_kernel(ReduceOp::Prod, "prod", x, nd, keepdim, sum_dtype(x.dtype()));
  if (!any_requires_grad({x})) return out;
  const Shape in_shape = x.shape();
  SavedTensor sx(x), so(out);
  return finish("ProdBackward", x, out, [in_shape, nd, keepdim, sx, so](const TensorList& g) -> TensorList {
    // d prod / d x_i = product of the other elements, computed without dividing by zero
    const Tensor xv = sx.get("prod");
    Tensor is_zero = eq(xv, 0.0);
    Tensor zero_count = expand_back(sum(is_zero, nd, true), in_shape, nd, true);
    Tensor nonzero_prod = expand_back(prod(where(is_zero, ones_like(xv), xv), nd, true), in_shape, nd, true);
    Tensor full_prod = expand_back(so.get("prod"), in_shape, nd, keepdim);
    Tensor others = where(eq(zero_count, 0.0), div(full_prod, xv),
                          where(logical_and(eq(zero_count, 1.0), is_zero), nonzero_prod, zeros_like(xv)));
    return {mul(expand_back(g[0], in_shape, nd, keepdim), others)};
  });
}

namespace {
Tensor amax_amin(bool is_max, const Tensor& x, const Dims& dims, bool keepdim) {
  const char* name = is_max ? "amax" : "amin";
  check_defined(x, name);
  const Dims nd = normalize_dims(dims, x.dim(), name);
  Tensor out = reduce_kernel(is_max ? ReduceOp::Max : ReduceOp::Min, name, x, nd, keepdim, x.dtype());
  if (!any_requires_grad({x})) return out;
  const Shape in_shape = x.shape();
  SavedTensor sx(x), so(out);
  return finish(is_max ? "AmaxBackward" : "AminBackward", x, out,
                [in_shape, nd, keepdim, sx, so, name](const TensorList& g) -> TensorList {
                  // the gradient is shared evenly between tied extrema
                  Tensor hit = eq(sx.get(name), expand_back(so.get(name), in_shape, nd, keepdim)).to(g[0].dtype());
                  Tensor count = expand_back(sum(hit, nd, true), in_shape, nd, true);
                  return {div(mul(expand_back(g[0], in_shape, nd, keepdim), hit), count)};
                });
}

std::pair<Tensor, Tensor> max_min_dim(bool is_max, const Tensor& x, std::int64_t dim, bool keepdim) {
  const char* name = is_max ? "max" : "min";
  check_defined(x, name);
  PEFTCPP_CHECK_SHAPE(x.dim() > 0 || dim == 0 || dim == -1, "[", name, "] dim ", dim, " out of range for a 0-d tensor");
  Tensor xx = x.dim() == 0 ? x.reshape({1}) : x;
  const std::int64_t d = normalize_dim(dim, xx.dim(), name);
  PEFTCPP_CHECK_SHAPE(xx.size(d) > 0, "[", name, "] cannot reduce an empty dimension of a ", shape_str(x.shape()),
                      " tensor");
  Shape kshape = xx.shape();
  kshape[static_cast<std::size_t>(d)] = 1;
  Tensor values = empty(kshape, x.dtype(), x.device());
  Tensor indices = empty(kshape, kInt64, x.device());
  backend_of(x).arg_reduce(is_max, view_of(xx.detach()), d, view_of(values), view_of(indices));
  if (!keepdim || x.dim() == 0) {
    values = values.squeeze(d);
    indices = indices.squeeze(d);
    if (x.dim() == 0) {
      values = values.reshape({});
      indices = indices.reshape({});
    }
  }
  if (any_requires_grad({x})) {
    const Shape in_shape = x.shape();
    Tensor idx = indices;
    TensorList outs{values, indices};
    record_function(is_max ? "MaxBackward" : "MinBackward", {x}, outs,
                    [in_shape, d, keepdim, idx](const TensorList& g) -> TensorList {
                      if (in_shape.empty()) return {g[0].reshape({})};
                      Tensor gi = keepdim ? g[0] : g[0].unsqueeze(d);
                      Tensor ii = keepdim ? idx : idx.unsqueeze(d);
                      return {scatter(zeros(in_shape, g[0].dtype(), g[0].device()), d, ii, gi)};
                    });
    values = outs[0];
  }
  return {values, indices};
}
}  // namespace

Tensor amax(const Tensor& x, const Dims& dims, bool keepdim) {
  return amax_amin(true, x, dims, keepdim);
}
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim) {
  return amax_amin(false, x, dims, keepdim);
}
std::pair<Tensor, Tensor> max(const Tensor& x, std::int64_t dim, bool keepdim) {
  return max_min_dim(true, x, dim, keepdim);
}
std::pair<Tensor, Tensor> min(const Tensor& x, std::int64_t dim, bool keepdim) {
  return max_min_dim(false, x, dim, keepdim);
}
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim) {
  NoGradGuard ng;
  return max_min_dim(true, x, dim, keepdim).second;
}
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim) {
  NoGradGuard ng;
  return max_min_dim(false, x, dim, keepdim).second;
}

Tensor var(const Tensor& x, const Dims& dims, double correction, bool keepdim) {
  check_defined(x, "var");
  PEFTCPP_CHECK_DTYPE(is_floating_point(x.dtype()), "[var] expects a floating-point tensor, got ", dtype_name(x.dtype()));
  const Dims nd = normalize_dims(dims, x.dim(), "var");
  std::int64_t n = 1;
  for (std::int64_t d : nd) n *= x.shape()[static_cast<std::size_t>(d)];
  // two-pass (mean first) for accuracy; differentiable through the composing ops
  Tensor centered = sub(x, mean(x, nd, true));
  const double denom = std::max(0.0, static_cast<double>(n) - correction);
  return div(sum(mul(centered, centered), nd, keepdim), denom);
}

Tensor std(const Tensor& x, const Dims& dims, double correction, bool keepdim) {
  return sqrt(var(x, dims, correction, keepdim));
}

Tensor norm(const Tensor& x, double p, const Dims& dims, bool keepdim) {
  check_defined(x, "norm");
  PEFTCPP_CHECK_DTYPE(is_floating_point(x.dtype()), "[norm] expects a floating-point tensor, got ", dtype_name(x.dtype()));
  PEFTCPP_CHECK(p > 0, "[norm] p must be positive, got ", p);
  const Dims nd = normalize_dims(dims, x.dim(), "norm");
  if (std::isinf(p)) return amax(abs(x), nd, keepdim);
  if (p == 1.0) return sum(abs(x), nd, keepdim);
  if (p == 2.0) {
    Tensor ss = sum(mul(x, x), nd, keepdim);
    Tensor out = sqrt(ss.detach());
    if (!any_requires_grad({x})) return out;
    const Shape in_shape = x.shape();
    SavedTensor sx(x), so(out);
    return finish("NormBackward", x, out, [in_shape, nd, keepdim, sx, so](const TensorList& g) -> TensorList {
      // x / ||x||, with 0 where the norm is 0 (PyTorch's subgradient)
      Tensor nrm = expand_back(so.get("norm"), in_shape, nd, keepdim);
      Tensor scale = where(eq(nrm, 0.0), zeros_like(nrm), div(expand_back(g[0], in_shape, nd, keepdim), nrm));
      return {mul(sx.get("norm"), scale)};
    });
  }
  return pow(sum(pow(abs(x), p), nd, keepdim), 1.0 / p);
}

Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim) {
  check_defined(x, "logsumexp");
  const Dims nd = normalize_dims(dims, x.dim(), "logsumexp");
  Tensor xd = x.detach();
  Tensor m = amax(xd, nd, true);
  m = where(isinf(m), zeros_like(m), m);
  Tensor out = add(log(sum(exp(sub(xd, m)), nd, true)), m);
  if (!keepdim) out = out.reshape(drop_dims(x.shape(), nd));
  if (!any_requires_grad({x})) return out;
  const Shape in_shape = x.shape();
  SavedTensor sx(x), so(out);
  return finish("LogsumexpBackward", x, out, [in_shape, nd, keepdim, sx, so](const TensorList& g) -> TensorList {
    Tensor lse = expand_back(so.get("logsumexp"), in_shape, nd, keepdim);
    return {mul(expand_back(g[0], in_shape, nd, keepdim), exp(sub(sx.get("logsumexp"), lse)))};
  });
}

Tensor all(const Tensor& x, const Dims& dims, bool keepdim) {
  const Dims nd = normalize_dims(dims, x.dim(), "all");
  return reduce_kernel(ReduceOp::All, "all", x, nd, keepdim, kBool);
}
Tensor any(const Tensor& x, const Dims& dims, bool keepdim) {
  const Dims nd = normalize_dims(dims, x.dim(), "any");
  return reduce_kernel(ReduceOp::Any, "any", x, nd, keepdim, kBool);
}

Tensor cumsum(const Tensor& x, std::int64_t dim) {
  check_defined(x, "cumsum");
  if (x.dim() == 0) return cumsum(x.reshape({1}), 0).reshape({});
  const std::int64_t d = normalize_dim(dim, x.dim(), "cumsum");
  Tensor out = empty(x.shape(), sum_dtype(x.dtype()), x.device());
  backend_of(x).cumsum(view_of(x.detach()), view_of(out), d);
  if (!any_requires_grad({x})) return out;
  return finish("CumsumBackward", x, out, [d](const TensorList& g) -> TensorList {
    // reverse cumulative sum: total - cumsum + g
    return {add(sub(sum(g[0], {d}, true), cumsum(g[0], d)), g[0])};
  });
}

namespace {
Tensor softmax_impl(const Tensor& x, std::int64_t dim, bool log_space) {
  const char* name = log_space ? "log_softmax" : "softmax";
  check_defined(x, name);
  Tensor in = is_floating_point(x.dtype()) ? x : x.to(kFloat32);
  if (in.dim() == 0) return softmax_impl(in.reshape({1}), 0, log_space).reshape({});
  const std::int64_t d = normalize_dim(dim, in.dim(), name);
  Tensor out = empty(in.shape(), in.dtype(), in.device());
  backend_of(in).softmax(view_of(in.detach()), view_of(out), d, log_space);
  if (!any_requires_grad({in})) return out;
  SavedTensor so(out);
  return finish(log_space ? "LogSoftmaxBackward" : "SoftmaxBackward", in, out,
                [so, d, log_space, name](const TensorList& g) -> TensorList {
                  const Tensor y = so.get(name);
                  if (log_space) return {sub(g[0], mul(exp(y), sum(g[0], {d}, true)))};
                  return {mul(y, sub(g[0], sum(mul(g[0], y), {d}, true)))};
                });
}
}  // namespace

Tensor softmax(const Tensor& x, std::int64_t dim) {
  return softmax_impl(x, dim, false);
}
Tensor log_softmax(const Tensor& x, std::int64_t dim) {
  return softmax_impl(x, dim, true);
}

}  // namespace peftcpp
