#include "tensor/shape.h"

#include <algorithm>
#include <sstream>

#include "tensor/error.h"

namespace peftcpp {

std::int64_t shape_numel(const Shape& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    PEFTCPP_CHECK_SHAPE(d >= 0, "[shape] negative dimension in ", shape_str(shape));
    if (d != 0 && n > INT64_MAX / d) {
      throw ShapeError("[shape] element count of " + shape_str(shape) + " overflows int64");
    }
    n *= d;
  }
  return n;
}

Strides contiguous_strides(const Shape& shape) {
  Strides s(shape.size());
  std::int64_t acc = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= std::max<std::int64_t>(shape[i], 1);
  }
  return s;
}

std::string shape_str(const Shape& shape) {
  std::ostringstream os;
  os << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) os << ", ";
    os << shape[i];
  }
  os << ']';
  return os.str();
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else {
      throw ShapeError(
          detail::concat("[", op, "] shapes ", shape_str(a), " and ", shape_str(b),
                         " cannot be broadcast (dim ", i, ": ", da, " vs ", db, ")"));
    }
  }
  return out;
}

std::int64_t normalize_dim(std::int64_t dim, std::int64_t ndim, const char* op) {
  const std::int64_t lo = ndim == 0 ? -1 : -ndim;
  const std::int64_t hi = ndim == 0 ? 0 : ndim - 1;
  PEFTCPP_CHECK_INDEX(
      dim >= lo && dim <= hi, "[", op, "] dimension ", dim, " out of range for a tensor with ",
      ndim, " dims (expected ", lo, "..", hi, ")");
  if (ndim == 0) return 0;
  return dim < 0 ? dim + ndim : dim;
}

std::vector<std::int64_t> normalize_dims(
    const std::vector<std::int64_t>& dims, std::int64_t ndim, const char* op,
    bool empty_means_all) {
  std::vector<std::int64_t> out;
  if (dims.empty() && empty_means_all) {
    for (std::int64_t i = 0; i < ndim; ++i) out.push_back(i);
    return out;
  }
  for (std::int64_t d : dims) {
    const std::int64_t nd = normalize_dim(d, ndim, op);
    if (ndim == 0) continue;
    PEFTCPP_CHECK_INDEX(
        std::find(out.begin(), out.end(), nd) == out.end(), "[", op, "] dimension ", d,
        " appears more than once");
    out.push_back(nd);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace peftcpp
