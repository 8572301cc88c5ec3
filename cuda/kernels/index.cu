// index_select, gather, scatter (plain or accumulating) and index_add. Index tensors are int64
// and already bounds-checked by the op layer. Each kernel walks one index space with a Layout
// whose operands include "position along dim" (stride 1 there, 0 elsewhere) where the index value
// is needed. Accumulation uses atomics (cuda/kernels/atomic.cuh): sums of floats may round in a
// different order than the CPU's sequential loop. scatter without accumulation and with
// duplicate indices stores one of the candidates (which one is unspecified; the CPU keeps the last).
#include "cuda/kernels/atomic.cuh"
#include "cuda/kernels/elementwise.cuh"
#include "cuda/kernels/kernels.h"

namespace peftcpp::cuda::kernels {
namespace {

Strides with_dim(const Strides& strides, std::int64_t dim, std::int64_t value) {
  Strides s = strides;
  s[static_cast<std::size_t>(dim)] = value;
  return s;
}

Strides unit_at(std::size_t ndim, std::int64_t dim) {
  Strides s(ndim, 0);
  s[static_cast<std::size_t>(dim)] = 1;
  return s;
}

// The stride to step through a 1-D (or contiguous) index tensor by position.
std::int64_t index_step(const TensorView& index, const char* op) {
  if (index.ndim() == 1) return index.strides[0];
  if (index.ndim() == 0 || index.is_contiguous()) return 1;
  throw DeviceError(std::string("[") + op + "] the CUDA backend needs a 1-D or contiguous index tensor");
}

// dst[..., j, ...] = src[..., index[j], ...]; operands: dst, src (dim stride 0), position j.
template <typename U>
__global__ void __launch_bounds__(kBlock) index_select_kernel(Layout<3> L, const U* src, U* dst,
                                                              const std::int64_t* index, std::int64_t istep,
                                                              std::int64_t src_dim_stride) {
  const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < L.numel; i += step) {
    std::int64_t off[3];
    L.offsets(i, off);
    dst[off[0]] = src[off[1] + index[off[2] * istep] * src_dim_stride];
  }
}

// dst[i] = src[i with coordinate dim replaced by index[i]]; operands: index, dst, src (dim stride 0).
template <typename U>
__global__ void __launch_bounds__(kBlock) gather_kernel(Layout<3> L, const U* src, U* dst, const std::int64_t* index,
                                                        std::int64_t src_dim_stride) {
  const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < L.numel; i += step) {
    std::int64_t off[3];
    L.offsets(i, off);
    dst[off[1]] = src[off[2] + index[off[0]] * src_dim_stride];
  }
}

// dst[i with coordinate dim replaced by index[i]] (=|+=) src[i]; operands: index, src, dst (dim stride 0).
template <typename T>
__global__ void __launch_bounds__(kBlock) scatter_kernel(Layout<3> L, const T* src, T* dst, const std::int64_t* index,
                                                         std::int64_t dst_dim_stride, bool accumulate) {
  const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < L.numel; i += step) {
    std::int64_t off[3];
    L.offsets(i, off);
    T* d = dst + off[2] + index[off[0]] * dst_dim_stride;
    if (accumulate) {
      atomic_add(d, load(src + off[1]));
    } else {
      *d = src[off[1]];
    }
  }
}

// dst[..., index[j], ...] += alpha * src[..., j, ...]; operands: src, dst (dim stride 0), position j.
template <typename T>
__global__ void __launch_bounds__(kBlock) index_add_kernel(Layout<3> L, const T* src, T* dst, const std::int64_t* index,
                                                           std::int64_t istep, std::int64_t dst_dim_stride,
                                                           compute_t<T> alpha) {
  const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < L.numel; i += step) {
    std::int64_t off[3];
    L.offsets(i, off);
    atomic_add(dst + off[1] + index[off[2] * istep] * dst_dim_stride,
               static_cast<compute_t<T>>(alpha * load(src + off[0])));
  }
}

}  // namespace

void index_select(const TensorView& src, std::int64_t dim, const TensorView& index, const TensorView& dst,
                  cudaStream_t stream) {
  const Strides s0 = with_dim(src.strides, dim, 0), pos = unit_at(dst.shape.size(), dim);
  const Layout<3> L = make_layout<3>(dst.shape, {&dst.strides, &s0, &pos}, "index_select");
  if (L.numel == 0) return;
  const std::int64_t istep = index_step(index, "index_select");
  dispatch_bytes(src.dtype, [&]<typename U>() {
    index_select_kernel<U><<<grid_for(L.numel), kBlock, 0, stream>>>(
        L, static_cast<const U*>(src.data), static_cast<U*>(dst.data), static_cast<const std::int64_t*>(index.data),
        istep, src.strides[static_cast<std::size_t>(dim)]);
  });
  PEFTCPP_CUDA_CHECK_LAUNCH("index_select");
}

void gather(const TensorView& src, std::int64_t dim, const TensorView& index, const TensorView& dst,
            cudaStream_t stream) {
  const Strides s0 = with_dim(src.strides, dim, 0);
  const Layout<3> L = make_layout<3>(index.shape, {&index.strides, &dst.strides, &s0}, "gather");
  if (L.numel == 0) return;
  dispatch_bytes(src.dtype, [&]<typename U>() {
    gather_kernel<U><<<grid_for(L.numel), kBlock, 0, stream>>>(L, static_cast<const U*>(src.data),
                                                               static_cast<U*>(dst.data),
                                                               static_cast<const std::int64_t*>(index.data),
                                                               src.strides[static_cast<std::size_t>(dim)]);
  });
  PEFTCPP_CUDA_CHECK_LAUNCH("gather");
}

void scatter(const TensorView& dst, std::int64_t dim, const TensorView& index, const TensorView& src,
             bool accumulate, cudaStream_t stream) {
  const Strides d0 = with_dim(dst.strides, dim, 0);
  const Layout<3> L = make_layout<3>(index.shape, {&index.strides, &src.strides, &d0}, "scatter");
  if (L.numel == 0) return;
  dispatch_all(dst.dtype, [&]<typename T>() {
    scatter_kernel<T><<<grid_for(L.numel), kBlock, 0, stream>>>(L, static_cast<const T*>(src.data),
                                                                static_cast<T*>(dst.data),
                                                                static_cast<const std::int64_t*>(index.data),
                                                                dst.strides[static_cast<std::size_t>(dim)], accumulate);
  });
  PEFTCPP_CUDA_CHECK_LAUNCH("scatter");
}

void index_add(const TensorView& dst, std::int64_t dim, const TensorView& index, const TensorView& src, double alpha,
               cudaStream_t stream) {
  const Strides d0 = with_dim(dst.strides, dim, 0), pos = unit_at(src.shape.size(), dim);
  const Layout<3> L = make_layout<3>(src.shape, {&src.strides, &d0, &pos}, "index_add");
  if (L.numel == 0) return;
  const std::int64_t istep = index_step(index, "index_add");
  dispatch_all(dst.dtype, [&]<typename T>() {
    index_add_kernel<T><<<grid_for(L.numel), kBlock, 0, stream>>>(
        L, static_cast<const T*>(src.data), static_cast<T*>(dst.data), static_cast<const std::int64_t*>(index.data),
        istep, dst.strides[static_cast<std::size_t>(dim)], static_cast<compute_t<T>>(alpha));
  });
  PEFTCPP_CUDA_CHECK_LAUNCH("index_add");
}

}  // namespace peftcpp::cuda::kernels
