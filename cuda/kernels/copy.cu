// copy (with dtype casts) and fill. Same-dtype copies move raw bits (cudaMemcpyAsync when both
// sides are contiguous); casts follow the CPU rules: to bool is `v != 0`, from bool is 0/1,
// otherwise a static_cast of the compute value. Zero fills of contiguous tensors are memsets.
#include <cmath>

#include "cuda/kernels/elementwise.cuh"
#include "cuda/kernels/kernels.h"

namespace peftcpp::cuda::kernels {
namespace {

template <typename U>
struct Identity {
  __device__ U operator()(U x) const { return x; }
};

template <typename To, typename From>
struct Cast {
  __device__ compute_t<To> operator()(compute_t<From> v) const {
    if constexpr (std::is_same_v<To, bool>) {
      return v != compute_t<From>(0);
    } else if constexpr (std::is_same_v<From, bool>) {
      return static_cast<compute_t<To>>(v ? 1 : 0);
    } else {
      return static_cast<compute_t<To>>(v);
    }
  }
};

template <typename T>
struct Constant {
  T value;
  __device__ T operator()() const { return value; }
};

}  // namespace

void copy(const TensorView& src, const TensorView& dst, cudaStream_t stream) {
  if (src.dtype == dst.dtype && src.is_contiguous() && dst.is_contiguous()) {
    const std::size_t bytes = static_cast<std::size_t>(dst.numel()) * itemsize(dst.dtype);
    if (bytes > 0) {
      PEFTCPP_CUDA_CHECK("copy", cudaMemcpyAsync(dst.data, src.data, bytes, cudaMemcpyDeviceToDevice, stream));
    }
    return;
  }
  if (src.dtype == dst.dtype) {
    dispatch_bytes(src.dtype, [&]<typename U>() {
      launch_elementwise<U, U>("copy", stream, Identity<U>{}, dst, {&src});
    });
    return;
  }
  dispatch_all(dst.dtype, [&]<typename To>() {
    dispatch_all(src.dtype, [&]<typename From>() {
      launch_elementwise<To, From>("copy", stream, Cast<To, From>{}, dst, {&src});
    });
  });
}

void fill(const TensorView& dst, double value, cudaStream_t stream) {
  if (value == 0.0 && !std::signbit(value) && dst.is_contiguous()) {
    // +0 is all-zero bits in every dtype (-0.0 is not: it takes the kernel)
    const std::size_t bytes = static_cast<std::size_t>(dst.numel()) * itemsize(dst.dtype);
    if (bytes > 0) PEFTCPP_CUDA_CHECK("fill", cudaMemsetAsync(dst.data, 0, bytes, stream));
    return;
  }
  // The storage value is computed on the host exactly as the CPU backend does, then written as bits.
  dispatch_all(dst.dtype, [&]<typename T>() {
    T v{};
    if constexpr (std::is_same_v<T, bool>) {
      v = value != 0.0;
    } else if constexpr (std::is_same_v<T, Half>) {
      v.bits = float_to_half(static_cast<float>(value));
    } else if constexpr (std::is_same_v<T, BFloat16>) {
      v.bits = float_to_bf16(static_cast<float>(value));
    } else {
      v = static_cast<T>(value);
    }
    launch_elementwise<T>("fill", stream, Constant<T>{v}, dst, {});
  });
}

}  // namespace peftcpp::cuda::kernels
