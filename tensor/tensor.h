// Tensor: a handle to shared TensorImpl (shape, strides, offset, dtype, device, storage, and an
// optional autograd slot). Copying a Tensor copies the handle; views share storage.
//
// Element-wise math, reductions, matmul etc. are free functions in tensor/ops.h; the methods here
// are metadata, views, conversions, autograd entry points and in-place helpers.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "tensor/device.h"
#include "tensor/dtype.h"
#include "tensor/error.h"
#include "tensor/shape.h"
#include "tensor/storage.h"

namespace peftcpp {

struct AutogradMeta;
class Node;
class Tensor;

using TensorList = std::vector<Tensor>;
/// A gradient hook: receives the gradient flowing into a tensor; returning a defined tensor
/// replaces it, returning an undefined one keeps it.
using GradHook = std::function<Tensor(const Tensor&)>;

class TensorImpl {
 public:
  TensorImpl(std::shared_ptr<Storage> storage, Shape shape, Strides strides, std::int64_t offset, DType dtype);

  std::shared_ptr<Storage> storage;
  Shape shape;
  Strides strides;
  std::int64_t offset = 0;  // in elements
  DType dtype = DType::Float32;
  std::shared_ptr<AutogradMeta> autograd;  // null for tensors that never took part in autograd
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const {
    return impl_ != nullptr;
  }
  const std::shared_ptr<TensorImpl>& impl() const {
    return impl_;
  }
  /// True when both handles refer to the same TensorImpl.
  bool is_same(const Tensor& other) const {
    return impl_ == other.impl_;
  }

  // ---- metadata --------------------------------------------------------------------------
  const Shape& shape() const;
  const Strides& strides() const;
  std::int64_t dim() const;
  /// Size of dimension `d` (negative counts from the end).
  std::int64_t size(std::int64_t d) const;
  std::int64_t stride(std::int64_t d) const;
  std::int64_t numel() const;
  DType dtype() const;
  Device device() const;
  std::int64_t storage_offset() const;
  bool is_contiguous() const;
  std::size_t itemsize() const;
  std::size_t nbytes() const;  // numel * itemsize
  const std::shared_ptr<Storage>& storage() const;
  /// Pointer to the first element (storage base + offset). CPU or CUDA address.
  void* raw_data() const;
  /// Typed pointer to the first element; checks dtype and that the tensor is on the CPU.
  template <typename T>
  T* data_ptr() const;
  /// The single element of a one-element tensor, converted to T.
  template <typename T>
  T item() const;
  /// All elements in row-major order, converted to T (copies to CPU if needed).
  template <typename T>
  std::vector<T> to_vector() const;

  // ---- conversions -------------------------------------------------------------------------
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;
  Tensor clone() const;
  /// This tensor if already contiguous, else a contiguous copy.
  Tensor contiguous() const;

  // ---- views (share storage; differentiable) -------------------------------------------------
  /// Reinterprets the shape; one dim may be -1. Requires compatible strides (see reshape).
  Tensor view(const Shape& shape) const;
  /// view() when possible, else a contiguous copy.
  Tensor reshape(const Shape& shape) const;
  Tensor permute(const std::vector<std::int64_t>& dims) const;
  Tensor transpose(std::int64_t d0, std::int64_t d1) const;
  /// Transpose of a tensor with at most 2 dims.
  Tensor t() const;
  /// mT: transpose of the last two dims.
  Tensor mT() const;
  Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const;
  /// Python-style slice along `dim` (negative start/end count from the end; clamped).
  Tensor slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1) const;
  Tensor select(std::int64_t dim, std::int64_t index) const;
  Tensor operator[](std::int64_t index) const {
    return select(0, index);
  }
  /// Broadcasts size-1 dims (and new leading dims) to `shape`; -1 keeps a dim.
  Tensor expand(const Shape& shape) const;
  Tensor expand_as(const Tensor& other) const {
    return expand(other.shape());
  }
  Tensor squeeze() const;
  Tensor squeeze(std::int64_t dim) const;
  Tensor unsqueeze(std::int64_t dim) const;
  Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1) const;
  Tensor unflatten(std::int64_t dim, const Shape& sizes) const;
  Tensor as_strided(const Shape& shape, const Strides& strides, std::int64_t offset) const;
  /// Same storage, viewed with another dtype of the same itemsize (no autograd).
  Tensor view_as_dtype(DType dtype) const;

  // ---- in-place (bump the version counter; rejected on tensors that require grad) ----------
  Tensor& copy_(const Tensor& src);
  Tensor& fill_(double value);
  Tensor& zero_();
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& mul_(double value);
  Tensor& mul_(const Tensor& other);

  // ---- autograd ----------------------------------------------------------------------------
  bool requires_grad() const;
  /// Marks a leaf tensor as requiring grad (throws on a non-leaf when turning it off).
  Tensor& requires_grad_(bool value = true);
  /// The accumulated gradient (undefined if none yet).
  Tensor grad() const;
  void set_grad(const Tensor& grad) const;
  bool is_leaf() const;
  std::shared_ptr<Node> grad_fn() const;
  /// Reverse-mode autodiff from this tensor. A scalar uses grad 1 when `grad` is undefined.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;
  /// Same data, no autograd history.
  Tensor detach() const;
  /// Keep .grad on a non-leaf tensor after backward.
  void retain_grad() const;
  /// Runs `hook` on the gradient flowing into this tensor; returns an id for remove_hook.
  int register_hook(GradHook hook) const;
  void remove_hook(int id) const;

  // ---- convenience math (same as the free functions in tensor/ops.h) ----------------------------
  Tensor sum() const;
  Tensor mean() const;
  Tensor matmul(const Tensor& other) const;

 private:
  void check_defined(const char* op) const;
  std::shared_ptr<TensorImpl> impl_;
};

/// PyTorch-like repr: values (abbreviated for large tensors), shape, dtype, device.
std::ostream& operator<<(std::ostream& os, const Tensor& t);
std::string to_string(const Tensor& t);

// Creates a tensor with fresh (uninitialised) storage.
Tensor empty(const Shape& shape, DType dtype = kFloat32, Device device = kCPU);

}  // namespace peftcpp
