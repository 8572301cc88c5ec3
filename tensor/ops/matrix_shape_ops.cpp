// tril / triu / diag (tensor/ops/shape_ops.h) with PyTorch's semantics. tril/triu keep a mask of
// the last two dims (backward: the same mask); diag copies through a strided view of the
// diagonal (backward: diag again, or a scatter onto the diagonal of zeros).
#include <algorithm>

#include "tensor/ops.h"
#include "tensor/ops/op_utils.h"
#include "tensor/ops/shape_ops.h"

namespace peftcpp {
namespace {
using namespace ops_detail;

Tensor finish(const char* name, const TensorList& ins, Tensor out, FunctionNode::BackwardFn fn) {
  TensorList outs{std::move(out)};
  record_function(name, ins, outs, std::move(fn));
  return outs[0];
}

// Mask of the kept elements of tril (lower = true) or triu on the last two dims of `shape`.
Tensor triangle_mask(const Shape& shape, std::int64_t diagonal, bool lower, Device device) {
  const std::int64_t rows = shape[shape.size() - 2], cols = shape.back();
  Tensor offset =
      sub(arange(cols, kInt64, device).unsqueeze(0), arange(rows, kInt64, device).unsqueeze(1));
  return lower ? le(offset, static_cast<double>(diagonal))
               : ge(offset, static_cast<double>(diagonal));
}

Tensor triangle(const Tensor& x, std::int64_t diagonal, bool lower) {
  const char* name = lower ? "tril" : "triu";
  check_defined(x, name);
  PEFTCPP_CHECK_SHAPE(
      x.dim() >= 2, "[", name, "] expects at least 2 dims, got ", shape_str(x.shape()));
  const Tensor mask = triangle_mask(x.shape(), diagonal, lower, x.device());
  Tensor out = where(mask, x.detach(), 0.0);
  if (!any_requires_grad({x}))
    return out;
  return finish(
      lower ? "TrilBackward" : "TriuBackward", {x}, out, [mask](const TensorList& g) -> TensorList {
        return {where(mask, g[0], 0.0)};
      });
}

// The `offset` diagonal of a 2-D tensor as a strided view (no autograd; callers detach).
Tensor diagonal_view(const Tensor& t, std::int64_t offset) {
  const std::int64_t rows = t.size(0), cols = t.size(1);
  const std::int64_t len = std::max<std::int64_t>(
      0, offset >= 0 ? std::min(rows, cols - offset) : std::min(rows + offset, cols));
  const std::int64_t start =
      len == 0 ? 0 : (offset >= 0 ? offset * t.stride(1) : -offset * t.stride(0));
  return t.as_strided({len}, {t.stride(0) + t.stride(1)}, t.storage_offset() + start);
}

}  // namespace

Tensor tril(const Tensor& x, std::int64_t diagonal) {
  return triangle(x, diagonal, true);
}

Tensor triu(const Tensor& x, std::int64_t diagonal) {
  return triangle(x, diagonal, false);
}

Tensor diag(const Tensor& x, std::int64_t offset) {
  check_defined(x, "diag");
  PEFTCPP_CHECK_SHAPE(
      x.dim() == 1 || x.dim() == 2,
      "[diag] expects a 1-D or 2-D tensor, got ",
      shape_str(x.shape()));
  Tensor out;
  if (x.dim() == 1) {
    const std::int64_t n = x.size(0) + (offset >= 0 ? offset : -offset);
    out = zeros({n, n}, x.dtype(), x.device());
    diagonal_view(out, offset).copy_(x.detach());
  } else {
    out = diagonal_view(x.detach(), offset).clone();
  }
  if (!any_requires_grad({x}))
    return out;
  const Shape in_shape = x.shape();
  return finish("DiagBackward", {x}, out, [in_shape, offset](const TensorList& g) -> TensorList {
    if (in_shape.size() == 1)
      return {diag(g[0], offset)};
    Tensor gx = zeros(in_shape, g[0].dtype(), g[0].device());
    diagonal_view(gx, offset).copy_(g[0]);
    return {gx};
  });
}

}  // namespace peftcpp
