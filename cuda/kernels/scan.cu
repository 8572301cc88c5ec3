// arg_reduce (max/min with indices along one dim) and cumsum, with the CPU backend's semantics:
// arg_reduce returns the first index on ties and the first NaN when there is one; cumsum adds
// in order in double (floating) or int64 (integers, bool) and writes the running sum.
#include "cuda/kernels/elementwise.cuh"
#include "cuda/kernels/kernels.h"

namespace peftcpp::cuda::kernels {
namespace {

template <typename C>
struct Best {
  C value;
  std::int64_t index;  // -1: this thread saw no element
};

// True when candidate b should replace a: NaN beats numbers, then the better value, then the
// lower index (ties keep the first occurrence).
template <typename C>
__device__ __forceinline__ bool replaces(const Best<C>& a, const Best<C>& b, bool is_max) {
  if (b.index < 0) return false;
  if (a.index < 0) return true;
  const bool an = is_nan(a.value), bn = is_nan(b.value);
  if (an || bn) return an && bn ? b.index < a.index : bn;
  if (b.value == a.value) return b.index < a.index;
  return is_max ? b.value > a.value : b.value < a.value;
}

// One block per output: each thread scans a strided share in increasing index order, then a
// tree combination over the block.
template <typename T>
__global__ void __launch_bounds__(kBlock) arg_reduce_kernel(Layout<3> outer, std::int64_t n, std::int64_t step,
                                                            bool is_max, const T* src, T* values,
                                                            std::int64_t* indices) {
  using C = compute_t<T>;
  __shared__ C shared_v[kBlock];
  __shared__ std::int64_t shared_i[kBlock];
  std::int64_t off[3];
  outer.offsets(blockIdx.x, off);
  const T* base = src + off[0];
  Best<C> best{C(0), -1};
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const Best<C> cand{load(base + i * step), i};
    if (replaces(best, cand, is_max)) best = cand;
  }
  shared_v[threadIdx.x] = best.value;
  shared_i[threadIdx.x] = best.index;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) {
      const Best<C> a{shared_v[threadIdx.x], shared_i[threadIdx.x]};
      const Best<C> b{shared_v[threadIdx.x + s], shared_i[threadIdx.x + s]};
      if (replaces(a, b, is_max)) {
        shared_v[threadIdx.x] = b.value;
        shared_i[threadIdx.x] = b.index;
      }
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    const std::int64_t i = shared_i[0];
    values[off[1]] = base[i * step];  // the stored element itself (NaN payloads kept)
    indices[off[2]] = i;
  }
}

// One thread per row along `dim`, sequential in index order.
template <typename T, typename D>
__global__ void __launch_bounds__(kBlock) cumsum_kernel(Layout<2> outer, std::int64_t n, std::int64_t ss,
                                                        std::int64_t ds, const T* src, D* dst) {
  using Acc = std::conditional_t<std::is_floating_point_v<compute_t<T>>, double, std::int64_t>;
  const std::int64_t o = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (o >= outer.numel) return;
  std::int64_t off[2];
  outer.offsets(o, off);
  Acc acc = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    acc += static_cast<Acc>(load(src + off[0] + i * ss));
    dst[off[1] + i * ds] = from_compute<D>(static_cast<compute_t<D>>(acc));
  }
}

Shape without_dim(const Shape& shape, std::int64_t dim) {
  Shape s = shape;
  s[static_cast<std::size_t>(dim)] = 1;
  return s;
}

}  // namespace

void arg_reduce(bool is_max, const TensorView& src, std::int64_t dim, const TensorView& values,
                const TensorView& indices, cudaStream_t stream) {
  const auto ud = static_cast<std::size_t>(dim);
  const std::int64_t n = src.shape[ud];
  const Layout<3> outer =
      make_layout<3>(without_dim(src.shape, dim), {&src.strides, &values.strides, &indices.strides}, "arg_reduce");
  if (outer.numel == 0 || n == 0) return;
  dispatch_all(src.dtype, [&]<typename T>() {
    arg_reduce_kernel<T><<<static_cast<unsigned>(outer.numel), kBlock, 0, stream>>>(
        outer, n, src.strides[ud], is_max, static_cast<const T*>(src.data), static_cast<T*>(values.data),
        static_cast<std::int64_t*>(indices.data));
  });
  PEFTCPP_CUDA_CHECK_LAUNCH("arg_reduce");
}

void cumsum(const TensorView& src, const TensorView& dst, std::int64_t dim, cudaStream_t stream) {
  const auto ud = static_cast<std::size_t>(dim);
  const std::int64_t n = src.shape[ud];
  const Layout<2> outer = make_layout<2>(without_dim(src.shape, dim), {&src.strides, &dst.strides}, "cumsum");
  if (outer.numel == 0 || n == 0) return;
  dispatch_all(src.dtype, [&]<typename T>() {
    // the op layer's output dtype: the input's for floating types, int64 otherwise
    using D = std::conditional_t<is_float_v<T>, T, std::int64_t>;
    if (dst.dtype != dtype_of_v<D>) {
      throw DeviceError(std::string("[cumsum] the CUDA backend writes ") + dtype_name(dtype_of_v<D>) + " for " +
                        dtype_name(src.dtype) + " input, asked for " + dtype_name(dst.dtype));
    }
    cumsum_kernel<T, D><<<grid_for(outer.numel), kBlock, 0, stream>>>(
        outer, n, src.strides[ud], dst.strides[ud], static_cast<const T*>(src.data), static_cast<D*>(dst.data));
  });
  PEFTCPP_CUDA_CHECK_LAUNCH("cumsum");
}

}  // namespace peftcpp::cuda::kernels
