// Shapes, strides and the checked arithmetic on them.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace peftcpp {

using Shape = std::vector<std::int64_t>;
using Strides = std::vector<std::int64_t>;

/// Number of elements; throws ShapeError on a negative dim or on overflow of int64.
std::int64_t shape_numel(const Shape& shape);
/// Row-major strides (in elements) for a contiguous tensor of this shape.
Strides contiguous_strides(const Shape& shape);
/// "[2, 3, 4]".
std::string shape_str(const Shape& shape);
/// NumPy broadcasting of two shapes; throws ShapeError naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
/// Maps a possibly negative dim into [0, ndim); throws IndexError naming `op`.
std::int64_t normalize_dim(std::int64_t dim, std::int64_t ndim, const char* op);
/// Normalises and deduplicates a list of dims (empty list = all dims when `empty_means_all`).
std::vector<std::int64_t> normalize_dims(
    const std::vector<std::int64_t>& dims,
    std::int64_t ndim,
    const char* op,
    bool empty_means_all = true);

}  // namespace peftcpp
