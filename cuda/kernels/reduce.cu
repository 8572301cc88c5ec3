// Reductions over any set of dims (dst in keepdim layout). Accumulators as on the CPU: double for
// floating sums and products, float32 for max/min of float32/bfloat16/float16 (exact there),
// double for float64, int64 for integers and bool. NaN is sticky for max/min.
//
// Kept dims form the "outer" index space and reduced dims (ordered by decreasing stride, so that
// consecutive threads read neighbouring addresses) the "inner" one. Two kernels:
//  - columns (the innermost kept dim has stride 1 and there are many outputs, e.g. a bias
//    gradient): one thread per output walks its share of the inner space in order; neighbouring
//    threads read neighbouring columns;
//  - otherwise one block per output and share of the inner space: block-wide tree reduction.
// When that gives too few blocks to fill the device, the inner space is split into shares whose
// partials a second kernel combines in order.
// Results go to a temporary buffer of the accumulator type and are cast into dst by the copy
// kernel (the CPU's static_cast of the accumulator).
#include <algorithm>
#include <numeric>
#include <vector>

#include "cuda/context.h"
#include "cuda/kernels/elementwise.cuh"
#include "cuda/kernels/kernels.h"
#include "tensor/storage.h"

namespace peftcpp::cuda::kernels {
namespace {

template <ReduceOp Op, typename Acc>
struct Red {
  __device__ __forceinline__ static Acc identity() {
    if constexpr (Op == ReduceOp::Sum || Op == ReduceOp::Any) return Acc(0);
    if constexpr (Op == ReduceOp::Prod || Op == ReduceOp::All) return Acc(1);
    if constexpr (Op == ReduceOp::Max) {
      if constexpr (std::is_floating_point_v<Acc>) return -static_cast<Acc>(INFINITY);
      return std::numeric_limits<Acc>::lowest();
    }
    if constexpr (Op == ReduceOp::Min) {
      if constexpr (std::is_floating_point_v<Acc>) return static_cast<Acc>(INFINITY);
      return std::numeric_limits<Acc>::max();
    }
  }
  __device__ __forceinline__ static Acc combine(Acc a, Acc b) {
    if constexpr (Op == ReduceOp::Sum) return a + b;
    if constexpr (Op == ReduceOp::Prod) return a * b;
    if constexpr (Op == ReduceOp::Max) return (b > a || is_nan(b)) ? b : a;
    if constexpr (Op == ReduceOp::Min) return (b < a || is_nan(b)) ? b : a;
    if constexpr (Op == ReduceOp::All) return (a != Acc(0) && b != Acc(0)) ? Acc(1) : Acc(0);
    if constexpr (Op == ReduceOp::Any) return (a != Acc(0) || b != Acc(0)) ? Acc(1) : Acc(0);
  }
};

template <ReduceOp Op, typename T, typename Acc>
__global__ void __launch_bounds__(kBlock)
    reduce_blocks(Layout<1> outer, Layout<1> inner, const T* src, Acc* out, std::int64_t chunk) {
  using R = Red<Op, Acc>;
  __shared__ Acc shared[kBlock];
  std::int64_t off[1];
  outer.offsets(blockIdx.x, off);
  const T* base = src + off[0];
  const std::int64_t begin = static_cast<std::int64_t>(blockIdx.y) * chunk;
  const std::int64_t end = begin + chunk < inner.numel ? begin + chunk : inner.numel;
  Acc acc = R::identity();
  for (std::int64_t r = begin + threadIdx.x; r < end; r += blockDim.x) {
    acc = R::combine(acc, static_cast<Acc>(load(base + inner.offset0(r))));
  }
  shared[threadIdx.x] = acc;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) shared[threadIdx.x] = R::combine(shared[threadIdx.x], shared[threadIdx.x + s]);
    __syncthreads();
  }
  if (threadIdx.x == 0) out[static_cast<std::int64_t>(blockIdx.x) * gridDim.y + blockIdx.y] = shared[0];
}

// One thread per (output, split of the inner space), the split's rows in order.
template <ReduceOp Op, typename T, typename Acc>
__global__ void __launch_bounds__(kBlock)
    reduce_columns(Layout<1> outer, Layout<1> inner, const T* src, Acc* out, std::int64_t chunk) {
  using R = Red<Op, Acc>;
  const std::int64_t o = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (o >= outer.numel) return;
  std::int64_t off[1];
  outer.offsets(o, off);
  const T* base = src + off[0];
  const std::int64_t begin = static_cast<std::int64_t>(blockIdx.y) * chunk;
  const std::int64_t end = begin + chunk < inner.numel ? begin + chunk : inner.numel;
  Acc acc = R::identity();
  for (std::int64_t r = begin; r < end; ++r) {
    acc = R::combine(acc, static_cast<Acc>(load(base + inner.offset0(r))));
  }
  out[o * gridDim.y + blockIdx.y] = acc;
}

template <ReduceOp Op, typename Acc>
__global__ void __launch_bounds__(kBlock) combine_splits(const Acc* partial, Acc* out, std::int64_t outer, int splits) {
  const std::int64_t o = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (o >= outer) return;
  Acc acc = partial[o * splits];
  for (int s = 1; s < splits; ++s) acc = Red<Op, Acc>::combine(acc, partial[o * splits + s]);
  out[o] = acc;
}

template <typename Acc>
constexpr DType acc_dtype() {
  if constexpr (std::is_same_v<Acc, double>) return DType::Float64;
  if constexpr (std::is_same_v<Acc, float>) return DType::Float32;
  return DType::Int64;
}

template <ReduceOp Op, typename T, typename Acc>
void run(const TensorView& src, const TensorView& dst, cudaStream_t stream) {
  Shape outer_shape, inner_shape;
  Strides outer_strides, inner_strides;
  for (std::size_t d = 0; d < src.shape.size(); ++d) {
    if (src.shape[d] == 1) continue;
    if (dst.shape[d] == 1) {
      inner_shape.push_back(src.shape[d]);
      inner_strides.push_back(src.strides[d]);
    } else {
      outer_shape.push_back(src.shape[d]);
      outer_strides.push_back(src.strides[d]);
    }
  }
  // reduced dims in memory order (largest stride first)
  std::vector<std::size_t> order(inner_shape.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return inner_strides[a] > inner_strides[b]; });
  Shape ish;
  Strides ist;
  for (std::size_t i : order) {
    ish.push_back(inner_shape[i]);
    ist.push_back(inner_strides[i]);
  }
  const Layout<1> outer = make_layout<1>(outer_shape, {&outer_strides}, "reduce");
  const Layout<1> inner = make_layout<1>(ish, {&ist}, "reduce");
  if (outer.numel == 0) return;

  auto buffer = Storage::allocate(static_cast<std::size_t>(outer.numel) * sizeof(Acc), kCUDA);
  Acc* result = static_cast<Acc*>(buffer->data());
  const bool columns = outer.ndim > 0 && outer.strides[0][outer.ndim - 1] == 1 && outer.numel >= 4096;
  // enough blocks to fill the device: split long inner spaces into partials combined in order
  const std::int64_t want = 4 * static_cast<std::int64_t>(multiprocessor_count());
  const std::int64_t per_split = columns ? 64 : 4 * kBlock;  // fewest inner elements worth a split
  const std::int64_t blocks = columns ? (outer.numel + kBlock - 1) / kBlock : outer.numel;
  std::int64_t splits = 1;
  if (blocks < want && inner.numel >= 2 * per_split) {
    splits = std::min<std::int64_t>({(want + blocks - 1) / blocks, inner.numel / per_split, 65535});
  }
  const std::int64_t chunk = std::max<std::int64_t>((inner.numel + splits - 1) / splits, 1);
  auto partial = splits > 1 ? Storage::allocate(static_cast<std::size_t>(outer.numel * splits) * sizeof(Acc), kCUDA)
                            : nullptr;
  Acc* target = splits > 1 ? static_cast<Acc*>(partial->data()) : result;
  const T* s = static_cast<const T*>(src.data);
  if (columns) {
    const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(splits));
    reduce_columns<Op, T, Acc><<<grid, kBlock, 0, stream>>>(outer, inner, s, target, chunk);
  } else {
    const dim3 grid(static_cast<unsigned>(outer.numel), static_cast<unsigned>(splits));
    reduce_blocks<Op, T, Acc><<<grid, kBlock, 0, stream>>>(outer, inner, s, target, chunk);
  }
  PEFTCPP_CUDA_CHECK_LAUNCH("reduce");
  if (splits > 1) {
    combine_splits<Op, Acc><<<grid_for(outer.numel), kBlock, 0, stream>>>(target, result, outer.numel,
                                                                         static_cast<int>(splits));
    PEFTCPP_CUDA_CHECK_LAUNCH("reduce");
  }
  // cast into dst (keepdim layout: the outputs are in row-major order of dst's shape)
  Strides contiguous(dst.shape.size());
  std::int64_t stride = 1;
  for (std::size_t d = dst.shape.size(); d-- > 0;) {
    contiguous[d] = stride;
    stride *= dst.shape[d];
  }
  copy(TensorView{result, acc_dtype<Acc>(), dst.shape, contiguous}, dst, stream);
}

template <typename T, typename Acc>
using MinMaxAcc = std::conditional_t<std::is_same_v<compute_t<T>, float>, float, Acc>;

}  // namespace

void reduce(ReduceOp op, const TensorView& src, const TensorView& dst, cudaStream_t stream) {
  dispatch_all(src.dtype, [&]<typename T>() {
    using Acc = std::conditional_t<std::is_floating_point_v<compute_t<T>>, double, std::int64_t>;
    switch (op) {
      case ReduceOp::Sum: return run<ReduceOp::Sum, T, Acc>(src, dst, stream);
      case ReduceOp::Prod: return run<ReduceOp::Prod, T, Acc>(src, dst, stream);
      case ReduceOp::Max: return run<ReduceOp::Max, T, MinMaxAcc<T, Acc>>(src, dst, stream);
      case ReduceOp::Min: return run<ReduceOp::Min, T, MinMaxAcc<T, Acc>>(src, dst, stream);
      case ReduceOp::All: return run<ReduceOp::All, T, Acc>(src, dst, stream);
      case ReduceOp::Any: return run<ReduceOp::Any, T, Acc>(src, dst, stream);
    }
    throw DeviceError(std::string("[cuda reduce] unknown op ") + op_name(op));
  });
}

}  // namespace peftcpp::cuda::kernels
