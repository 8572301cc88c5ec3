// Ops that build new tensors out of pieces of others (copies, not views).
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace peftcpp {

Tensor cat(const TensorList& tensors, std::int64_t dim = 0);
Tensor stack(const TensorList& tensors, std::int64_t dim = 0);
/// Views of `split_size` along dim (the last may be shorter).
TensorList split(const Tensor& x, std::int64_t split_size, std::int64_t dim = 0);
TensorList split_with_sizes(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t dim = 0);
TensorList chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim = 0);
Tensor tril(const Tensor& x, std::int64_t diagonal = 0);
Tensor triu(const Tensor& x, std::int64_t diagonal = 0);
/// 1-D input: square matrix with it on the `offset` diagonal; 2-D input: the diagonal as 1-D.
Tensor diag(const Tensor& x, std::int64_t offset = 0);
Tensor repeat(const Tensor& x, const Shape& repeats);
Tensor flip(const Tensor& x, const std::vector<std::int64_t>& dims);
Tensor roll(const Tensor& x, std::int64_t shift, std::int64_t dim);
/// Constant padding of the last dims: pads = {last_lo, last_hi, prev_lo, prev_hi, ...} as F.pad.
Tensor pad(const Tensor& x, const std::vector<std::int64_t>& pads, double value = 0.0);

}  // namespace peftcpp
