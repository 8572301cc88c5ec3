// Indexing with index tensors (int64).
#pragma once

#include "tensor/tensor.h"

namespace peftcpp {

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index);
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index);
/// Copy of x with src written at `index` along dim.
Tensor scatter(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);
/// Copy of x with `source` rows added at `index` along dim.
Tensor index_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& source, double alpha = 1.0);
/// 1-D tensor of the elements where mask is true.
Tensor masked_select(const Tensor& x, const Tensor& mask);
/// Indices of non-zero elements, [n, ndim] int64.
Tensor nonzero(const Tensor& x);
/// Values and indices of the k largest (or smallest) along dim, sorted.
std::pair<Tensor, Tensor> topk(const Tensor& x, std::int64_t k, std::int64_t dim = -1, bool largest = true);
std::pair<Tensor, Tensor> sort(const Tensor& x, std::int64_t dim = -1, bool descending = false);

}  // namespace peftcpp
