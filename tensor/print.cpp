// PyTorch-like repr: tensor([[1.0000, 2.0000], ...], shape=[2, 2], dtype=float32).
#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace peftcpp {
namespace {

constexpr std::int64_t kEdgeItems = 3;
constexpr std::int64_t kSummarizeAbove = 1000;

void print_values(std::ostream& os, const std::vector<double>& v, const Shape& shape, std::size_t dim,
                  std::int64_t offset, bool summarize, bool is_float, bool is_bool, int indent) {
  if (shape.empty()) {
    const double x = v[static_cast<std::size_t>(offset)];
    if (is_bool) {
      os << (x != 0 ? "True" : "False");
    } else if (is_float) {
      if (std::isnan(x)) {
        os << "nan";
      } else if (std::isinf(x)) {
        os << (x > 0 ? "inf" : "-inf");
      } else {
        os << std::fixed << std::setprecision(4) << x;
      }
    } else {
      os << static_cast<long long>(x);
    }
    return;
  }
  std::int64_t stride = 1;
  for (std::size_t i = dim + 1; i < shape.size(); ++i) stride *= shape[i];
  const std::int64_t n = shape[dim];
  os << '[';
  for (std::int64_t i = 0; i < n; ++i) {
    if (summarize && n > 2 * kEdgeItems && i == kEdgeItems) {
      os << "...";
      i = n - kEdgeItems - 1;
      os << (dim + 1 == shape.size() ? ", " : ",\n" + std::string(static_cast<std::size_t>(indent + 1), ' '));
      continue;
    }
    if (dim + 1 == shape.size()) {
      const double x = v[static_cast<std::size_t>(offset + i)];
      Shape none;
      std::vector<double> one{x};
      print_values(os, one, none, 0, 0, summarize, is_float, is_bool, indent);
    } else {
      print_values(os, v, shape, dim + 1, offset + i * stride, summarize, is_float, is_bool, indent + 1);
    }
    if (i + 1 < n) os << (dim + 1 == shape.size() ? ", " : ",\n" + std::string(static_cast<std::size_t>(indent + 1), ' '));
  }
  os << ']';
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  NoGradGuard ng;
  const std::vector<double> v = t.to_vector<double>();
  std::ostringstream body;
  print_values(body, v, t.shape(), 0, 0, t.numel() > kSummarizeAbove, is_floating_point(t.dtype()),
               t.dtype() == kBool, 7);
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
