// Splits a tensor's dims into kept (outer) and reduced (inner) index spaces for reductions.
#pragma once

#include <vector>

#include "tensor/backend/backend.h"

namespace peftcpp::cpu {

struct ReducePlan {
  // outer: dims kept in the output; inner: dims reduced. Strides in elements of src.
  Shape outer_shape, inner_shape;
  Strides outer_src_strides, inner_src_strides, outer_dst_strides;
  std::int64_t outer = 1, inner = 1;
};

/// Merges adjacent dims that are contiguous with each other (outer-major order is kept).
inline void coalesce(Shape& shape, Strides& strides) {
  for (std::size_t d = shape.size(); d-- > 1;) {
    if (strides[d - 1] == strides[d] * shape[d]) {
      shape[d - 1] *= shape[d];
      strides[d - 1] = strides[d];
      shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(d));
      strides.erase(strides.begin() + static_cast<std::ptrdiff_t>(d));
    }
  }
}

/// Calls f(offset) for every element of a shape/strides index space, in row-major order.
template <typename F>
inline void walk(const Shape& shape, const Strides& strides, std::int64_t base, F&& f) {
  const std::size_t nd = shape.size();
  if (nd == 0) {
    f(base);
    return;
  }
  for (std::int64_t s : shape) {
    if (s == 0) return;
  }
  if (nd == 1) {
    for (std::int64_t i = 0; i < shape[0]; ++i) f(base + i * strides[0]);
    return;
  }
  std::vector<std::int64_t> idx(nd, 0);
  std::int64_t off = base;
  while (true) {
    for (std::int64_t i = 0; i < shape[nd - 1]; ++i) f(off + i * strides[nd - 1]);
    std::size_t d = nd - 1;
    while (true) {
      if (d == 0) return;
      --d;
      off += strides[d];
      if (++idx[d] < shape[d]) break;
      off -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

/// `dst` is in keepdim layout: a dim of size 1 in dst and > 1 in src is reduced.
inline ReducePlan make_reduce_plan(const TensorView& src, const TensorView& dst) {
  ReducePlan p;
  for (std::int64_t d = 0; d < src.ndim(); ++d) {
    if (src.shape[d] == 1) continue;
    if (dst.shape[d] == 1) {
      p.inner_shape.push_back(src.shape[d]);
      p.inner_src_strides.push_back(src.strides[d]);
      p.inner *= src.shape[d];
    } else {
      p.outer_shape.push_back(src.shape[d]);
      p.outer_src_strides.push_back(src.strides[d]);
      p.outer_dst_strides.push_back(dst.strides[d]);
      p.outer *= src.shape[d];
    }
  }
  coalesce(p.inner_shape, p.inner_src_strides);
  return p;
}

/// Offset (in elements) of linear index `i` in a shape/strides pair.
inline std::int64_t offset_of(std::int64_t i, const Shape& shape, const Strides& strides) {
  std::int64_t off = 0;
  for (std::size_t d = shape.size(); d-- > 0;) {
    off += (i % shape[d]) * strides[d];
    i /= shape[d];
  }
  return off;
}

}  // namespace peftcpp::cpu
