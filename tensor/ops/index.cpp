// index_select / gather / scatter / scatter_add / index_add with bounds checks and backward.
#include "tensor/ops/index.h"

#include "tensor/ops.h"
#include "tensor/ops/op_utils.h"

namespace peftcpp {
namespace {
using namespace ops_detail;

Tensor check_index(const Tensor& index, std::int64_t bound, const char* op) {
  check_defined(index, op, "index");
  PEFTCPP_CHECK_DTYPE(index.dtype() == kInt64 || index.dtype() == kInt32, "[", op, "] index must be int64 (or int32), got ",
                      dtype_name(index.dtype()));
  Tensor ix = index.dtype() == kInt64 ? index : index.to(kInt64);
  if (ix.numel() > 0) {
    const std::int64_t lo = amin(ix).item<std::int64_t>(), hi = amax(ix).item<std::int64_t>();
    PEFTCPP_CHECK_INDEX(lo >= 0 && hi < bound, "[", op, "] index out of range: values span [", lo, ", ", hi,
                        "] but the dimension has size ", bound);
  }
  return ix;
}

Tensor finish(const char* name, const TensorList& ins, Tensor out, FunctionNode::BackwardFn fn) {
  TensorList outs{std::move(out)};
  record_function(name, ins, outs, std::move(fn));
  return outs[0];
}

}  // namespace

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index) {
  check_defined(x, "index_select");
  PEFTCPP_CHECK_SHAPE(index.dim() <= 1, "[index_select] index must be 0-D or 1-D, got ", shape_str(index.shape()));
  Tensor xx = x.dim() == 0 ? x.reshape({1}) : x;
  const std::int64_t d = normalize_dim(dim, xx.dim(), "index_select");
  Tensor ix = check_index(index, xx.size(d), "index_select").reshape({-1});
  Shape out_shape = xx.shape();
  out_shape[static_cast<std::size_t>(d)] = ix.numel();
  Tensor out = empty(out_shape, x.dtype(), x.device());
  backend_of(x).index_select(view_of(xx.detach()), d, view_of(ix), view_of(out));
  if (x.dim() == 0) out = out.reshape(index.dim() == 0 ? Shape{} : Shape{ix.numel()});
  if (!any_requires_grad({x})) return out;
  const Shape in_shape = xx.shape();
  const Shape x_shape = x.shape();
  return finish("IndexSelectBackward", {x}, out, [in_shape, x_shape, d, ix](const TensorList& g) -> TensorList {
    Tensor z = zeros(in_shape, g[0].dtype(), g[0].device());
    Shape gs = in_shape;
    gs[static_cast<std::size_t>(d)] = ix.numel();
    return {index_add(z, d, ix, g[0].reshape(gs)).reshape(x_shape)};
  });
}

Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index) {
  check_defined(x, "gather");
  const std::int64_t d = normalize_dim(dim, x.dim(), "gather");
  PEFTCPP_CHECK_SHAPE(index.dim() == x.dim(), "[gather] index must have the same number of dims as the input: ",
                      shape_str(index.shape()), " vs ", shape_str(x.shape()));
  for (std::int64_t i = 0; i < x.dim(); ++i) {
    PEFTCPP_CHECK_SHAPE(i == d || index.size(i) <= x.size(i), "[gather] index ", shape_str(index.shape()),
                        " is larger than input ", shape_str(x.shape()), " in dim ", i);
  }
  Tensor ix = check_index(index, x.dim() == 0 ? 1 : x.size(d), "gather");
  Tensor out = empty(ix.shape(), x.dtype(), x.device());
  backend_of(x).gather(view_of(x.detach()), d, view_of(ix), view_of(out));
  if (!any_requires_grad({x})) return out;
  const Shape in_shape = x.shape();
  return finish("GatherBackward", {x}, out, [in_shape, d, ix](const TensorList& g) -> TensorList {
    return {scatter_add(zeros(in_shape, g[0].dtype(), g[0].device()), d, ix, g[0])};
  });
}

namespace {
Tensor scatter_impl(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src, bool accumulate) {
  const char* name = accumulate ? "scatter_add" : "scatter";
  check_defined(x, name);
  check_defined(src, name, "src");
  check_same_device(x, src, name);
  const std::int64_t d = normalize_dim(dim, x.dim(), name);
  PEFTCPP_CHECK_SHAPE(index.dim() == x.dim() && src.dim() == x.dim(), "[", name,
                      "] index, src and input need the same number of dims: ", shape_str(index.shape()), ", ",
                      shape_str(src.shape()), ", ", shape_str(x.shape()));
  for (std::int64_t i = 0; i < x.dim(); ++i) {
    PEFTCPP_CHECK_SHAPE(index.size(i) <= src.size(i) && (i == d || index.size(i) <= x.size(i)), "[", name,
                        "] index ", shape_str(index.shape()), " does not fit src ", shape_str(src.shape()),
                        " / input ", shape_str(x.shape()), " in dim ", i);
  }
  Tensor ix = check_index(index, x.dim() == 0 ? 1 : x.size(d), name);
  Tensor out = x.detach().clone();
  Tensor s = cast_if_needed(src.detach(), x.dtype());
  // src is read only where index has elements
  Tensor s_view = s;
  for (std::int64_t i = 0; i < x.dim(); ++i) s_view = s_view.narrow(i, 0, ix.size(i));
  backend_of(x).scatter(view_of(out), d, view_of(ix), view_of(s_view), accumulate);
  if (!any_requires_grad({x, src})) return out;
  const Shape src_shape = src.shape();
  return finish(accumulate ? "ScatterAddBackward" : "ScatterBackward", {x, src}, out,
                [ix, d, accumulate, src_shape](const TensorList& g) -> TensorList {
                  // input: gradient passes where not overwritten; src: gathered gradient
                  Tensor gx = accumulate ? g[0] : scatter(g[0], d, ix, zeros(ix.shape(), g[0].dtype(), g[0].device()));
                  Tensor gs_part = gather(g[0], d, ix);
                  Tensor gs = zeros(src_shape, g[0].dtype(), g[0].device());
                  Tensor window = gs;
                  for (std::int64_t i = 0; i < gs.dim(); ++i) window = window.narrow(i, 0, ix.size(i));
                  window.copy_(gs_part);
                  return {gx, gs};
                });
}
}  // namespace

Tensor scatter(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
  return scatter_impl(x, dim, index, src, false);
}
Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
  return scatter_impl(x, dim, index, src, true);
}

Tensor index_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& source, double alpha) {
  check_defined(x, "index_add");
  check_defined(source, "index_add", "source");
  check_same_device(x, source, "index_add");
  const std::int64_t d = normalize_dim(dim, x.dim(), "index_add");
  PEFTCPP_CHECK_SHAPE(index.dim() <= 1, "[index_add] index must be 1-D, got ", shape_str(index.shape()));
  Tensor ix = check_index(index, x.dim() == 0 ? 1 : x.size(d), "index_add").reshape({-1});
  Shape expect = x.shape();
  if (!expect.empty()) expect[static_cast<std::size_t>(d)] = ix.numel();
  PEFTCPP_CHECK_SHAPE(source.shape() == expect, "[index_add] source has shape ", shape_str(source.shape()),
                      ", expected ", shape_str(expect));
  Tensor out = x.detach().clone();
  backend_of(x).index_add(view_of(out), d, view_of(ix), view_of(cast_if_needed(source.detach(), x.dtype())), alpha);
  if (!any_requires_grad({x, source})) return out;
  return finish("IndexAddBackward", {x, source}, out, [ix, d, alpha](const TensorList& g) -> TensorList {
    return {g[0], mul(index_select(g[0], d, ix), alpha)};
  });
}

}  // namespace peftcpp
