// Binary element-wise kernels (every kind, every dtype the CPU backend accepts) and where().
// Operands arrive broadcast to the output shape (stride-0 dims) and share a dtype.
#include "cuda/kernels/binary_ops.cuh"
#include "cuda/kernels/elementwise.cuh"
#include "cuda/kernels/kernels.h"

namespace peftcpp::cuda::kernels {
namespace {

template <BinaryOp Op, typename T>
void run(const TensorView& a, const TensorView& b, const TensorView& dst, double p0, cudaStream_t stream) {
  using C = compute_t<T>;
  if constexpr (std::is_same_v<T, bool>) {
    if constexpr (bool_binary_supported(Op)) {
      launch_elementwise<bool, bool, bool>(op_name(Op), stream, BoolBinaryFn<Op>{}, dst, {&a, &b});
    } else {
      throw DTypeError(std::string("[") + op_name(Op) + "] is not supported for bool tensors; convert first");
    }
  } else if constexpr (binary_returns_bool(Op)) {
    launch_elementwise<bool, T, T>(op_name(Op), stream, BinaryFn<Op, C>{}, dst, {&a, &b});
  } else {
    launch_elementwise<T, T, T>(op_name(Op), stream, BinaryFn<Op, C>{static_cast<C>(p0)}, dst, {&a, &b});
  }
}

template <typename T>
struct Select {
  __device__ __forceinline__ T operator()(bool c, T x, T y) const { return c ? x : y; }
};

}  // namespace

void binary(BinaryOp op, const TensorView& a, const TensorView& b, const TensorView& dst, double p0,
            cudaStream_t stream) {
  dispatch_all(a.dtype, [&]<typename T>() {
    switch (op) {
#define PEFTCPP_BINARY_OP(name) \
  case BinaryOp::name:          \
    return run<BinaryOp::name, T>(a, b, dst, p0, stream);
#include "tensor/backend/kinds.def"
    }
    throw DeviceError(std::string("[cuda binary] unknown op ") + op_name(op));
  });
}

void where(const TensorView& cond, const TensorView& a, const TensorView& b, const TensorView& dst,
           cudaStream_t stream) {
  // Elements are moved, not converted: select on raw bits of the item size.
  dispatch_bytes(dst.dtype, [&]<typename U>() {
    launch_elementwise<U, bool, U, U>("where", stream, Select<U>{}, dst, {&cond, &a, &b});
  });
}

}  // namespace peftcpp::cuda::kernels
