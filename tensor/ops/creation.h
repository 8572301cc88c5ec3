// Factories.
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace peftcpp {

Tensor zeros(const Shape& shape, DType dtype = kFloat32, Device device = kCPU);
Tensor ones(const Shape& shape, DType dtype = kFloat32, Device device = kCPU);
Tensor full(const Shape& shape, double value, DType dtype = kFloat32, Device device = kCPU);
/// 0-d tensor holding `value`.
Tensor scalar_tensor(double value, DType dtype = kFloat32, Device device = kCPU);
/// n x m identity (m = n when m < 0).
Tensor eye(std::int64_t n, std::int64_t m = -1, DType dtype = kFloat32, Device device = kCPU);
/// [start, end) with `step`; dtype Int64 unless given.
Tensor arange(double start, double end, double step = 1.0, DType dtype = kInt64, Device device = kCPU);
Tensor arange(std::int64_t end, DType dtype = kInt64, Device device = kCPU);
/// `steps` evenly spaced values from start to end inclusive (PyTorch's formula).
Tensor linspace(double start, double end, std::int64_t steps, DType dtype = kFloat32, Device device = kCPU);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor empty_like(const Tensor& t);

/// Tensor from host values (copied); shape defaults to [values.size()].
template <typename T>
Tensor tensor(const std::vector<T>& values, Shape shape = {}, Device device = kCPU);
/// Tensor from host values converted to `dtype`.
Tensor tensor_from_doubles(const std::vector<double>& values, const Shape& shape, DType dtype, Device device = kCPU);
/// Tensor viewing bytes owned elsewhere (zero-copy); see Storage::wrap.
Tensor from_blob(
    void* data,
    const Shape& shape,
    DType dtype,
    std::shared_ptr<const void> keepalive,
    bool read_only,
    Device device = kCPU);

}  // namespace peftcpp
