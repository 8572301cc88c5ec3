// Helpers shared by the op implementations (not installed).
#pragma once

#include <string>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "tensor/backend/backend.h"
#include "tensor/tensor.h"

namespace peftcpp::ops_detail {

inline Backend& backend_of(const Tensor& t) {
  return backend_for(t.device());
}

inline void check_defined(const Tensor& t, const char* op, const char* what = "input") {
  PEFTCPP_CHECK(t.defined(), "[", op, "] ", what, " is an undefined tensor");
}

inline void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  PEFTCPP_CHECK_T(DeviceError, a.device() == b.device(), "[", op, "] tensors are on different devices: ",
                  a.device().str(), " and ", b.device().str());
}

/// Rejects in-place writes that autograd could not track.
void check_inplace(const Tensor& t, const char* op);

/// Sums `grad` down to `shape` (undoing broadcasting).
Tensor sum_to(const Tensor& grad, const Shape& shape);

/// Converts to dtype if needed (differentiable).
inline Tensor cast_if_needed(const Tensor& t, DType dtype) {
  return t.dtype() == dtype ? t : t.to(dtype);
}

}  // namespace peftcpp::ops_detail
