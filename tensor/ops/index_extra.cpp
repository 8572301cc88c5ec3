// Data-dependent indexing (tensor/ops/index.h): masked_select, nonzero, topk, sort.
//
// The positions are found on the host (a copy for non-CPU tensors); the values are then taken with
// index_select / gather, so their backward is those ops' scatter (masked scatter for
// masked_select, scatter into the sorted positions for topk and sort).
// Ordering follows PyTorch: NaN compares greater than every number; sort is stable; topk returns
// its k values sorted, ties in index order.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>

#include "tensor/ops.h"
#include "tensor/ops/index.h"
#include "tensor/ops/op_utils.h"

namespace peftcpp {
namespace {
using namespace ops_detail;

// a < b with NaN greatest.
template <typename T>
bool nan_last_less(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a))
      return false;
    if (std::isnan(b))
      return true;
  }
  return a < b;
}

// Strict total order on (value, index): by value (NaN greatest), ties by index, which makes
// every selection and sort below deterministic and stable.
template <typename T, bool kDescending>
struct Before {
  bool operator()(const std::pair<T, std::int64_t>& x, const std::pair<T, std::int64_t>& y) const {
    if (kDescending ? nan_last_less(y.first, x.first) : nan_last_less(x.first, y.first))
      return true;
    if (kDescending ? nan_last_less(x.first, y.first) : nan_last_less(y.first, x.first))
      return false;
    return x.second < y.second;
  }
};

// For each row of `vals` (rows x n, row-major), the indices of its first k elements in order.
template <typename T, bool kDescending>
std::vector<std::int64_t> order_rows(
    const std::vector<T>& vals, std::int64_t rows, std::int64_t n, std::int64_t k) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(rows * k));
  std::vector<std::pair<T, std::int64_t>> row(static_cast<std::size_t>(n));
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t i = 0; i < n; ++i) row[static_cast<std::size_t>(i)] = {vals[r * n + i], i};
    if (k < n)
      std::nth_element(row.begin(), row.begin() + k, row.end(), Before<T, kDescending>{});
    std::sort(row.begin(), row.begin() + k, Before<T, kDescending>{});
    for (std::int64_t i = 0; i < k; ++i) out[r * k + i] = row[static_cast<std::size_t>(i)].second;
  }
  return out;
}

template <typename T>
std::vector<std::int64_t> order_rows(
    const std::vector<T>& vals,
    std::int64_t rows,
    std::int64_t n,
    std::int64_t k,
    bool descending) {
  return descending ? order_rows<T, true>(vals, rows, n, k)
                    : order_rows<T, false>(vals, rows, n, k);
}

// Values and indices of the first k elements along dim in sorted order (sort: k = size).
std::pair<Tensor, Tensor> sorted_prefix(
    const Tensor& x, std::int64_t k, std::int64_t dim, bool descending, const char* op) {
  check_defined(x, op);
  const Tensor xx = x.dim() == 0 ? x.reshape({1}) : x;
  const std::int64_t d = normalize_dim(dim, xx.dim(), op);
  const std::int64_t n = xx.size(d);
  PEFTCPP_CHECK_INDEX(
      k >= 0 && k <= n,
      "[",
      op,
      "] k = ",
      k,
      " is out of range for dim ",
      d,
      " of size ",
      n,
      " (shape ",
      shape_str(x.shape()),
      ")");
  // rows along the last dim, on the host
  const Tensor moved = xx.detach().transpose(d, -1).contiguous().to(kCPU);
  const std::int64_t rows = n == 0 ? 0 : moved.numel() / n;
  std::vector<std::int64_t> order;
  if (is_floating_point(x.dtype())) {
    order = order_rows(moved.to_vector<double>(), rows, n, k, descending);
  } else {
    order = order_rows(moved.to_vector<std::int64_t>(), rows, n, k, descending);
  }
  Shape moved_shape = moved.shape();
  moved_shape.back() = k;
  Tensor indices = tensor(order, moved_shape, x.device()).transpose(d, -1).contiguous();
  Tensor values = gather(xx, d, indices);
  if (x.dim() == 0) {
    values = values.reshape(k == 0 ? Shape{0} : Shape{});
    indices = indices.reshape(k == 0 ? Shape{0} : Shape{});
  }
  return {values, indices};
}

}  // namespace

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  check_defined(x, "masked_select");
  check_defined(mask, "masked_select", "mask");
  check_same_device(x, mask, "masked_select");
  PEFTCPP_CHECK_DTYPE(
      mask.dtype() == kBool, "[masked_select] mask must be bool, got ", dtype_name(mask.dtype()));
  const Shape bs = broadcast_shapes(x.shape(), mask.shape(), "masked_select");
  const std::vector<bool> keep = mask.expand(bs).contiguous().to_vector<bool>();
  std::vector<std::int64_t> pos;
  for (std::size_t i = 0; i < keep.size(); ++i) {
    if (keep[i])
      pos.push_back(static_cast<std::int64_t>(i));
  }
  const auto count = static_cast<std::int64_t>(pos.size());
  // differentiable path: broadcast, flatten, index_select (backward: index_add into zeros, summed
  // back over broadcast dims)
  return index_select(x.expand(bs).reshape({-1}), 0, tensor(pos, {count}, x.device()));
}

Tensor nonzero(const Tensor& x) {
  check_defined(x, "nonzero");
  const std::vector<bool> nz = ne(x.detach(), 0.0).contiguous().to_vector<bool>();
  const Shape& shape = x.shape();
  const auto ndim = static_cast<std::int64_t>(shape.size());
  std::vector<std::int64_t> coords;
  std::int64_t count = 0;
  Shape at(shape.size(), 0);  // multi-index of element i (row-major odometer)
  for (std::size_t i = 0; i < nz.size(); ++i) {
    if (nz[i]) {
      coords.insert(coords.end(), at.begin(), at.end());
      ++count;
    }
    for (std::int64_t d = ndim - 1; d >= 0; --d) {
      auto& c = at[static_cast<std::size_t>(d)];
      if (++c < shape[static_cast<std::size_t>(d)])
        break;
      c = 0;
    }
  }
  return tensor(coords, {count, ndim}, x.device());
}

std::pair<Tensor, Tensor> topk(const Tensor& x, std::int64_t k, std::int64_t dim, bool largest) {
  return sorted_prefix(x, k, dim, largest, "topk");
}

std::pair<Tensor, Tensor> sort(const Tensor& x, std::int64_t dim, bool descending) {
  check_defined(x, "sort");
  const std::int64_t d = normalize_dim(dim, std::max<std::int64_t>(x.dim(), 1), "sort");
  return sorted_prefix(x, x.dim() == 0 ? 1 : x.size(d), d, descending, "sort");
}

}  // namespace peftcpp
