// Unary element-wise kernels: every kind of tensor/backend/kinds.def in every dtype the CPU
// backend accepts (math kinds: floating dtypes; bool: the logical and classification kinds).
#include "cuda/kernels/elementwise.cuh"
#include "cuda/kernels/kernels.h"
#include "cuda/kernels/unary_ops.cuh"

namespace peftcpp::cuda::kernels {
namespace {

template <UnaryOp Op, typename T>
void run(const TensorView& src, const TensorView& dst, double p0, double p1, cudaStream_t stream) {
  using C = compute_t<T>;
  if constexpr (!unary_accepts_integers(Op) && !std::is_floating_point_v<C>) {
    throw DTypeError(std::string("[") + op_name(Op) + "] expected a floating-point tensor, got " +
                     dtype_name(src.dtype));
  } else if constexpr (unary_returns_bool(Op)) {
    launch_elementwise<bool, T>(op_name(Op), stream, UnaryFn<Op, C>{p0, p1}, dst, {&src});
  } else {
    launch_elementwise<T, T>(op_name(Op), stream, UnaryFn<Op, C>{p0, p1}, dst, {&src});
  }
}

template <UnaryOp Op>
struct BoolFn {
  __device__ bool operator()(bool x) const {
    if constexpr (Op == UnaryOp::LogicalNot) return !x;
    if constexpr (Op == UnaryOp::IsFinite) return true;
    return false;  // IsNan, IsInf
  }
};

void run_bool(UnaryOp op, const TensorView& src, const TensorView& dst, cudaStream_t stream) {
  switch (op) {
    case UnaryOp::LogicalNot:
      return launch_elementwise<bool, bool>("LogicalNot", stream, BoolFn<UnaryOp::LogicalNot>{}, dst, {&src});
    case UnaryOp::IsNan:
    case UnaryOp::IsInf:
      return launch_elementwise<bool, bool>(op_name(op), stream, BoolFn<UnaryOp::IsNan>{}, dst, {&src});
    case UnaryOp::IsFinite:
      return launch_elementwise<bool, bool>("IsFinite", stream, BoolFn<UnaryOp::IsFinite>{}, dst, {&src});
    default:
      throw DTypeError(std::string("[") + op_name(op) + "] is not supported for bool tensors; convert first");
  }
}

}  // namespace

void unary(UnaryOp op, const TensorView& src, const TensorView& dst, double p0, double p1, cudaStream_t stream) {
  dispatch_all(src.dtype, [&]<typename T>() {
    if constexpr (std::is_same_v<T, bool>) {
      run_bool(op, src, dst, stream);
    } else {
      switch (op) {
#define PEFTCPP_UNARY_OP(name) \
  case UnaryOp::name:          \
    return run<UnaryOp::name, T>(src, dst, p0, p1, stream);
#include "tensor/backend/kinds.def"
      }
      throw DeviceError(std::string("[cuda unary] unknown op ") + op_name(op));
    }
  });
}

}  // namespace peftcpp::cuda::kernels
