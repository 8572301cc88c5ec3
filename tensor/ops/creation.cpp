#include "tensor/ops/creation.h"

#include <cmath>
#include <cstring>

#include "tensor/backend/backend.h"

namespace peftcpp {

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  backend_for(device).fill(view_of(t), value);
  return t;
}
Tensor zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, 0.0, dtype, device);
}
Tensor ones(const Shape& shape, DType dtype, Device device) {
  return full(shape, 1.0, dtype, device);
}
Tensor scalar_tensor(double value, DType dtype, Device device) {
  return full({}, value, dtype, device);
}

Tensor eye(std::int64_t n, std::int64_t m, DType dtype, Device device) {
  if (m < 0) m = n;
  PEFTCPP_CHECK_SHAPE(n >= 0, "[eye] negative size ", n);
  Tensor t = zeros({n, m}, dtype, device);
  const std::int64_t k = std::min(n, m);
  if (k > 0) {
    Tensor diag = t.as_strided({k}, {m + 1}, 0);
    backend_for(device).fill(view_of(diag), 1.0);
  }
  return t;
}

Tensor arange(double start, double end, double step, DType dtype, Device device) {
  PEFTCPP_CHECK(step != 0.0, "[arange] step must be non-zero");
  PEFTCPP_CHECK(std::isfinite(start) && std::isfinite(end), "[arange] bounds must be finite");
  const double count = std::ceil((end - start) / step);
  const std::int64_t n = count > 0 ? static_cast<std::int64_t>(count) : 0;
  std::vector<double> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = start + static_cast<double>(i) * step;
  return tensor_from_doubles(v, {n}, dtype, device);
}

Tensor arange(std::int64_t end, DType dtype, Device device) {
  return arange(0.0, static_cast<double>(end), 1.0, dtype, device);
}

Tensor linspace(double start, double end, std::int64_t steps, DType dtype, Device device) {
  PEFTCPP_CHECK(steps >= 0, "[linspace] steps must be non-negative, got ", steps);
  std::vector<double> v(static_cast<std::size_t>(steps));
  if (steps == 1) v[0] = start;
  if (steps > 1) {
    // PyTorch fills the first half from start and the second half from end, symmetric in rounding
    const double step = (end - start) / static_cast<double>(steps - 1);
    const std::int64_t half = steps / 2;
    for (std::int64_t i = 0; i < steps; ++i) {
      v[static_cast<std::size_t>(i)] =
          i < half ? start + step * static_cast<double>(i) : end - step * static_cast<double>(steps - 1 - i);
    }
  }
  return tensor_from_doubles(v, {steps}, dtype, device);
}

Tensor zeros_like(const Tensor& t) {
  return zeros(t.shape(), t.dtype(), t.device());
}
Tensor ones_like(const Tensor& t) {
  return ones(t.shape(), t.dtype(), t.device());
}
Tensor full_like(const Tensor& t, double value) {
  return full(t.shape(), value, t.dtype(), t.device());
}
Tensor empty_like(const Tensor& t) {
  return empty(t.shape(), t.dtype(), t.device());
}

Tensor tensor_from_doubles(const std::vector<double>& values, const Shape& shape, DType dtype, Device device) {
  PEFTCPP_CHECK_SHAPE(shape_numel(shape) == static_cast<std::int64_t>(values.size()), "[tensor] ", values.size(),
                      " values do not fill shape ", shape_str(shape));
  Tensor host = empty(shape, kFloat64, kCPU);
  if (!values.empty()) std::memcpy(host.raw_data(), values.data(), values.size() * sizeof(double));
  Tensor out = host.to(dtype);
  return device.is_cpu() ? out : out.to(device);
}

template <typename T>
Tensor tensor(const std::vector<T>& values, Shape shape, Device device) {
  if (shape.empty() && values.size() != 1) shape = {static_cast<std::int64_t>(values.size())};
  PEFTCPP_CHECK_SHAPE(shape_numel(shape) == static_cast<std::int64_t>(values.size()), "[tensor] ", values.size(),
                      " values do not fill shape ", shape_str(shape));
  Tensor t = empty(shape, dtype_of_v<T>, kCPU);
  if constexpr (std::is_same_v<T, bool>) {
    bool* p = static_cast<bool*>(t.raw_data());
    for (std::size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  } else {
    if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  }
  return device.is_cpu() ? t : t.to(device);
}

template Tensor tensor<float>(const std::vector<float>&, Shape, Device);
template Tensor tensor<double>(const std::vector<double>&, Shape, Device);
template Tensor tensor<std::int8_t>(const std::vector<std::int8_t>&, Shape, Device);
template Tensor tensor<std::uint8_t>(const std::vector<std::uint8_t>&, Shape, Device);
template Tensor tensor<std::int16_t>(const std::vector<std::int16_t>&, Shape, Device);
template Tensor tensor<std::int32_t>(const std::vector<std::int32_t>&, Shape, Device);
template Tensor tensor<std::int64_t>(const std::vector<std::int64_t>&, Shape, Device);
template Tensor tensor<bool>(const std::vector<bool>&, Shape, Device);

Tensor from_blob(void* data, const Shape& shape, DType dtype, std::shared_ptr<const void> keepalive, bool read_only,
                 Device device) {
  const std::int64_t n = shape_numel(shape);
  auto storage = Storage::wrap(data, static_cast<std::size_t>(n) * itemsize(dtype), device, std::move(keepalive), read_only);
  return Tensor(std::make_shared<TensorImpl>(std::move(storage), shape, contiguous_strides(shape), 0, dtype));
}

}  // namespace peftcpp
