// Ops that assemble tensors from pieces (tensor/ops/shape_ops.h), with PyTorch's semantics:
// cat/stack, split/split_with_sizes/chunk (views), repeat, flip, roll, pad (tril/triu/diag are in
// matrix_shape_ops.cpp).
//
// Forward passes copy into narrowed views of a preallocated output with the backend's strided
// copy (no new backend entry points). Backward formulas are the adjoint slicings: cat -> narrow,
// repeat -> sum over tiles, flip -> flip, roll -> roll back, pad -> slice.
#include "tensor/ops/shape_ops.h"

#include <algorithm>

#include "tensor/ops.h"
#include "tensor/ops/op_utils.h"

namespace peftcpp {
namespace {
using namespace ops_detail;

Tensor finish(const char* name, const TensorList& ins, Tensor out, FunctionNode::BackwardFn fn) {
  TensorList outs{std::move(out)};
  record_function(name, ins, outs, std::move(fn));
  return outs[0];
}

// PyTorch still skips 1-D tensors of shape [0] in cat, whatever the other shapes are.
bool is_legacy_empty(const Tensor& t) {
  return t.dim() == 1 && t.size(0) == 0;
}

// The gradient of an input of dtype `dtype` (integer inputs get none).
Tensor grad_as(const Tensor& g, DType dtype) {
  return is_floating_point(dtype) ? cast_if_needed(g, dtype) : Tensor();
}

// The block of `t` starting at `start` with extents `len` (a view).
Tensor block(Tensor t, const Shape& start, const Shape& len) {
  for (std::size_t d = 0; d < len.size(); ++d)
    t = t.narrow(static_cast<std::int64_t>(d), start[d], len[d]);
  return t;
}

}  // namespace

Tensor cat(const TensorList& tensors, std::int64_t dim) {
  PEFTCPP_CHECK_SHAPE(!tensors.empty(), "[cat] expects a non-empty list of tensors");
  DType dtype = DType::Bool;
  const Tensor* ref = nullptr;
  std::size_t ref_i = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    check_defined(t, "cat", "tensor");
    check_same_device(tensors[0], t, "cat");
    dtype = i == 0 ? t.dtype() : promote_types(dtype, t.dtype());
    if (!ref && !is_legacy_empty(t)) {
      ref = &t;
      ref_i = i;
    }
  }
  if (!ref)
    return empty({0}, dtype, tensors[0].device());
  PEFTCPP_CHECK_SHAPE(
      ref->dim() > 0, "[cat] zero-dimensional tensor (tensor ", ref_i, ") cannot be concatenated");
  const std::int64_t d = normalize_dim(dim, ref->dim(), "cat");
  Shape out_shape = ref->shape();
  out_shape[static_cast<std::size_t>(d)] = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (is_legacy_empty(t))
      continue;
    bool fits = t.dim() == ref->dim();
    for (std::int64_t j = 0; fits && j < t.dim(); ++j) fits = j == d || t.size(j) == ref->size(j);
    PEFTCPP_CHECK_SHAPE(
        fits,
        "[cat] tensor ",
        i,
        " has shape ",
        shape_str(t.shape()),
        " but tensor ",
        ref_i,
        " has shape ",
        shape_str(ref->shape()),
        "; they must match except in dim ",
        d);
    out_shape[static_cast<std::size_t>(d)] += t.size(d);
  }
  Tensor out = empty(out_shape, dtype, ref->device());
  std::vector<std::int64_t> offsets;
  std::int64_t off = 0;
  for (const Tensor& t : tensors) {
    offsets.push_back(off);
    if (is_legacy_empty(t))
      continue;
    if (t.size(d) > 0)
      out.narrow(d, off, t.size(d)).copy_(t.detach());
    off += t.size(d);
  }
  if (!any_requires_grad(tensors))
    return out;
  std::vector<Shape> shapes;
  std::vector<DType> dtypes;
  for (const Tensor& t : tensors) {
    shapes.push_back(t.shape());
    dtypes.push_back(t.dtype());
  }
  return finish(
      "CatBackward", tensors, out, [d, offsets, shapes, dtypes](const TensorList& g) -> TensorList {
        TensorList grads;
        for (std::size_t i = 0; i < shapes.size(); ++i) {
          const bool skipped = shapes[i].size() == 1 && shapes[i][0] == 0;
          Tensor gi = skipped ? zeros(shapes[i], g[0].dtype(), g[0].device())
                              : g[0].narrow(d, offsets[i], shapes[i][static_cast<std::size_t>(d)]);
          grads.push_back(grad_as(gi, dtypes[i]));
        }
        return grads;
      });
}

Tensor stack(const TensorList& tensors, std::int64_t dim) {
  PEFTCPP_CHECK_SHAPE(!tensors.empty(), "[stack] expects a non-empty list of tensors");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    check_defined(tensors[i], "stack", "tensor");
    PEFTCPP_CHECK_SHAPE(
        tensors[i].shape() == tensors[0].shape(),
        "[stack] expects tensors of equal shape, but tensor 0 has shape ",
        shape_str(tensors[0].shape()),
        " and tensor ",
        i,
        " has shape ",
        shape_str(tensors[i].shape()));
  }
  const std::int64_t d = normalize_dim(dim, tensors[0].dim() + 1, "stack");
  TensorList parts;
  for (const Tensor& t : tensors) parts.push_back(t.unsqueeze(d));
  return cat(parts, d);
}

TensorList split_with_sizes(
    const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t dim) {
  check_defined(x, "split_with_sizes");
  PEFTCPP_CHECK_SHAPE(x.dim() > 0, "[split_with_sizes] cannot split a 0-d tensor");
  const std::int64_t d = normalize_dim(dim, x.dim(), "split_with_sizes");
  std::int64_t total = 0;
  for (std::int64_t s : sizes) {
    PEFTCPP_CHECK_SHAPE(
        s >= 0, "[split_with_sizes] sizes must be non-negative, got ", shape_str(sizes));
    total += s;
  }
  PEFTCPP_CHECK_SHAPE(
      total == x.size(d),
      "[split_with_sizes] sizes ",
      shape_str(sizes),
      " sum to ",
      total,
      " but dim ",
      d,
      " of ",
      shape_str(x.shape()),
      " has size ",
      x.size(d));
  TensorList parts;
  std::int64_t off = 0;
  for (std::int64_t s : sizes) {
    parts.push_back(x.narrow(d, off, s));
    off += s;
  }
  return parts;
}

TensorList split(const Tensor& x, std::int64_t split_size, std::int64_t dim) {
  check_defined(x, "split");
  PEFTCPP_CHECK_SHAPE(x.dim() > 0, "[split] cannot split a 0-d tensor");
  const std::int64_t d = normalize_dim(dim, x.dim(), "split");
  const std::int64_t n = x.size(d);
  PEFTCPP_CHECK(
      split_size > 0 || (split_size == 0 && n == 0),
      "[split] split_size must be positive (0 only for an empty dim), got ",
      split_size,
      " for dim ",
      d,
      " of size ",
      n);
  if (n == 0)
    return {x.narrow(d, 0, 0)};
  std::vector<std::int64_t> sizes;
  for (std::int64_t off = 0; off < n; off += split_size)
    sizes.push_back(std::min(split_size, n - off));
  return split_with_sizes(x, sizes, d);
}

TensorList chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim) {
  check_defined(x, "chunk");
  PEFTCPP_CHECK(chunks > 0, "[chunk] chunks must be positive, got ", chunks);
  PEFTCPP_CHECK_SHAPE(x.dim() > 0, "[chunk] cannot chunk a 0-d tensor");
  const std::int64_t d = normalize_dim(dim, x.dim(), "chunk");
  const std::int64_t n = x.size(d);
  // an empty dim gives `chunks` empty pieces, as torch.chunk does
  if (n == 0)
    return split_with_sizes(x, std::vector<std::int64_t>(static_cast<std::size_t>(chunks), 0), d);
  return split(x, (n + chunks - 1) / chunks, d);
}

Tensor repeat(const Tensor& x, const Shape& repeats) {
  check_defined(x, "repeat");
  PEFTCPP_CHECK_SHAPE(
      static_cast<std::int64_t>(repeats.size()) >= x.dim(),
      "[repeat] needs at least as many repeats as dims: ",
      shape_str(repeats),
      " for a tensor of shape ",
      shape_str(x.shape()));
  const std::size_t r = repeats.size();
  Shape padded(r - static_cast<std::size_t>(x.dim()), 1);
  padded.insert(padded.end(), x.shape().begin(), x.shape().end());
  // x viewed as (1, s0, 1, s1, ...) and broadcast to (r0, s0, r1, s1, ...)
  Shape inter, tiled, out_shape;
  for (std::size_t i = 0; i < r; ++i) {
    PEFTCPP_CHECK_SHAPE(
        repeats[i] >= 0, "[repeat] repeats must be non-negative, got ", shape_str(repeats));
    inter.insert(inter.end(), {1, padded[i]});
    tiled.insert(tiled.end(), {repeats[i], padded[i]});
    out_shape.push_back(repeats[i] * padded[i]);
  }
  Tensor out = x.detach().reshape(inter).expand(tiled).clone().view(out_shape);
  if (!any_requires_grad({x}))
    return out;
  const Shape in_shape = x.shape();
  Dims tile_dims;
  for (std::size_t i = 0; i < r; ++i) tile_dims.push_back(static_cast<std::int64_t>(2 * i));
  return finish(
      "RepeatBackward", {x}, out, [in_shape, tiled, tile_dims](const TensorList& g) -> TensorList {
        return {sum(g[0].reshape(tiled), tile_dims).reshape(in_shape)};
      });
}

Tensor flip(const Tensor& x, const std::vector<std::int64_t>& dims) {
  check_defined(x, "flip");
  std::vector<std::int64_t> nd;
  for (std::int64_t d : dims) {
    const std::int64_t k = normalize_dim(d, std::max<std::int64_t>(x.dim(), 1), "flip");
    PEFTCPP_CHECK(
        std::find(nd.begin(), nd.end(), k) == nd.end(),
        "[flip] dims ",
        shape_str(dims),
        " name dim ",
        k,
        " twice");
    nd.push_back(k);
  }
  // one reversed-index gather per flipped dim (a 0-d tensor or no dims: a plain copy)
  Tensor out = x.detach();
  if (x.dim() == 0 || nd.empty())
    out = out.clone();
  for (std::int64_t d : x.dim() == 0 ? std::vector<std::int64_t>{} : nd) {
    const std::int64_t n = x.size(d);
    std::vector<std::int64_t> rev(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) rev[static_cast<std::size_t>(i)] = n - 1 - i;
    out = index_select(out, d, tensor(rev, {n}, x.device()));
  }
  if (!any_requires_grad({x}))
    return out;
  return finish("FlipBackward", {x}, out, [nd](const TensorList& g) -> TensorList {
    return {flip(g[0], nd)};
  });
}

Tensor roll(const Tensor& x, std::int64_t shift, std::int64_t dim) {
  check_defined(x, "roll");
  const Tensor xx = x.dim() == 0 ? x.reshape({1}) : x;
  const std::int64_t d = normalize_dim(dim, xx.dim(), "roll");
  const std::int64_t n = xx.size(d);
  Tensor out = empty(xx.shape(), x.dtype(), x.device());
  const Tensor src = xx.detach();
  if (n > 0) {
    // out[(i + shift) mod n] = x[i]
    const std::int64_t s = ((shift % n) + n) % n;
    out.narrow(d, s, n - s).copy_(src.narrow(d, 0, n - s));
    if (s > 0)
      out.narrow(d, 0, s).copy_(src.narrow(d, n - s, s));
  }
  out = out.view(x.shape());
  if (!any_requires_grad({x}))
    return out;
  return finish("RollBackward", {x}, out, [shift, d](const TensorList& g) -> TensorList {
    return {roll(g[0], -shift, d)};
  });
}

Tensor pad(const Tensor& x, const std::vector<std::int64_t>& pads, double value) {
  check_defined(x, "pad");
  PEFTCPP_CHECK_SHAPE(
      pads.size() % 2 == 0 && static_cast<std::int64_t>(pads.size()) <= 2 * x.dim(),
      "[pad] pads ",
      shape_str(pads),
      " must come in (low, high) pairs for at most ",
      x.dim(),
      " dims of a tensor of shape ",
      shape_str(x.shape()));
  Shape out_shape = x.shape();
  // per dim: where the kept input block starts in the input and in the output, and its length
  Shape src_start(out_shape.size(), 0), dst_start(out_shape.size(), 0), len = x.shape();
  bool any_kept = x.numel() > 0;
  for (std::size_t k = 0; k < pads.size() / 2; ++k) {
    const std::size_t d = out_shape.size() - 1 - k;
    const std::int64_t lo = pads[2 * k], hi = pads[2 * k + 1], n = x.shape()[d];
    out_shape[d] = n + lo + hi;
    PEFTCPP_CHECK_SHAPE(
        out_shape[d] >= 0,
        "[pad] pads ",
        shape_str(pads),
        " crop dim ",
        d,
        " of ",
        shape_str(x.shape()),
        " to a negative size ",
        out_shape[d]);
    src_start[d] = std::max<std::int64_t>(0, -lo);
    dst_start[d] = std::max<std::int64_t>(0, lo);
    len[d] = n - src_start[d] - std::max<std::int64_t>(0, -hi);
    any_kept = any_kept && len[d] > 0;
  }
  Tensor out = full(out_shape, value, x.dtype(), x.device());
  if (any_kept)
    block(out, dst_start, len).copy_(block(x.detach(), src_start, len));
  if (!any_requires_grad({x}))
    return out;
  const Shape in_shape = x.shape();
  return finish("PadBackward", {x}, out, [=](const TensorList& g) -> TensorList {
    Tensor gx = zeros(in_shape, g[0].dtype(), g[0].device());
    if (any_kept)
      block(gx, src_start, len).copy_(block(g[0], dst_start, len));
    return {gx};
  });
}

}  // namespace peftcpp