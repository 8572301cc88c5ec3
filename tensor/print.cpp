// PyTorch-like repr: tensor([[1.0000, 2.0000], ...], shape=[2, 2], dtype=float32).
#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace peftcpp {
namespace {

constexpr std::int64_t kEdgeItems = 3;
constexpr std::int64_t kSummarizeAbove = 1000;

// One string per element, formatted as PyTorch does: floats with 4 decimals, integers exactly
// (read as int64, never through double), bools as True/False.
std::vector<std::string> format_elements(const Tensor& t) {
  std::vector<std::string> out;
  if (is_floating_point(t.dtype())) {
    for (double x : t.to_vector<double>()) {
      std::ostringstream os;
      if (std::isnan(x)) {
        os << "nan";
      } else if (std::isinf(x)) {
        os << (x > 0 ? "inf" : "-inf");
      } else {
        os << std::fixed << std::setprecision(4) << x;
      }
      out.push_back(os.str());
    }
  } else if (t.dtype() == kBool) {
    for (std::int64_t x : t.to_vector<std::int64_t>()) out.push_back(x != 0 ? "True" : "False");
  } else {
    for (std::int64_t x : t.to_vector<std::int64_t>()) out.push_back(std::to_string(x));
  }
  return out;
}

void print_values(std::ostream& os, const std::vector<std::string>& v, const Shape& shape,
                  std::size_t dim, std::int64_t offset, bool summarize, int indent) {
  if (shape.empty()) {
    os << v[static_cast<std::size_t>(offset)];
    return;
  }
  std::int64_t stride = 1;
  for (std::size_t i = dim + 1; i < shape.size(); ++i) stride *= shape[i];
  const std::int64_t n = shape[dim];
  const std::string sep =
      dim + 1 == shape.size() ? ", " : ",\n" + std::string(static_cast<std::size_t>(indent + 1), ' ');
  os << '[';
  for (std::int64_t i = 0; i < n; ++i) {
    if (summarize && n > 2 * kEdgeItems && i == kEdgeItems) {
      os << "..." << sep;
      i = n - kEdgeItems - 1;
      continue;
    }
    if (dim + 1 == shape.size()) {
      os << v[static_cast<std::size_t>(offset + i)];
    } else {
      print_values(os, v, shape, dim + 1, offset + i * stride, summarize, indent + 1);
    }
    if (i + 1 < n) os << sep;
  }
  os << ']';
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  NoGradGuard ng;
  std::ostringstream body;
  print_values(body, format_elements(t), t.shape(), 0, 0, t.numel() > kSummarizeAbove, 7);
  os << "tensor(" << body.str() << ", shape=" << shape_str(t.shape()) << ", dtype=" << dtype_name(t.dtype());
  if (!t.device().is_cpu()) os << ", device=" << t.device().str();
  if (t.requires_grad()) os << ", requires_grad=True";
  return os << ')';
}

std::string to_string(const Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}

}  // namespace peftcpp
