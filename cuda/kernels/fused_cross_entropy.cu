// Cross-entropy rows on CUDA, one block per row (grid-stride over rows). Forward: an online
// maximum and sum of exponentials in one read of the row (per thread, then merged across the
// block in a fixed order), lse = max + log(sum) saved, loss = lse - x[target]. Backward writes
// scale * (softmax - onehot) in one pass. Rows whose target is ignore_index give 0.
#include <cmath>
#include <limits>

#include "cuda/kernels/fused.h"
#include "cuda/kernels/fused_common.cuh"

namespace peftcpp::cuda {
namespace {

using namespace fused_detail;

// A running (max, sum of exp(x - max)); max == -inf means empty (sum 0).
template <typename A>
struct MaxSum {
  A m, s;
};

template <typename A>
__device__ __forceinline__ MaxSum<A> push(MaxSum<A> a, A x) {
  if (x > a.m)
    return {x, a.s * exp_(a.m - x) + A(1)};  // exp(-inf) = 0 when a was empty
  if (isinf(x) && x < 0)
    return a;                         // exp(-inf - m) = 0 (and no inf - inf)
  return {a.m, a.s + exp_(x - a.m)};  // NaN x makes the sum NaN, as on CPU
}

template <typename A>
__device__ __forceinline__ MaxSum<A> merge(MaxSum<A> a, MaxSum<A> b) {
  if (isinf(a.m) && a.m < 0)
    return b;
  if (isinf(b.m) && b.m < 0)
    return a;
  const A m = a.m > b.m ? a.m : b.m;
  return {m, a.s * exp_(a.m - m) + b.s * exp_(b.m - m)};
}

template <typename A>
__device__ MaxSum<A> block_max_sum(MaxSum<A> v) {
  __shared__ A ms[32], ss[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  for (int offset = 16; offset > 0; offset >>= 1) {
    const MaxSum<A> o{
        __shfl_xor_sync(0xffffffffu, v.m, offset), __shfl_xor_sync(0xffffffffu, v.s, offset)};
    v = merge(v, o);
  }
  __syncthreads();
  if (lane == 0) {
    ms[warp] = v.m;
    ss[warp] = v.s;
  }
  __syncthreads();
  if (warp == 0) {
    MaxSum<A> w{-INFINITY, A(0)};
    if (lane < warps)
      w = {ms[lane], ss[lane]};
    for (int offset = 16; offset > 0; offset >>= 1) {
      const MaxSum<A> o{
          __shfl_xor_sync(0xffffffffu, w.m, offset), __shfl_xor_sync(0xffffffffu, w.s, offset)};
      w = merge(w, o);
    }
    if (lane == 0) {
      ms[0] = w.m;
      ss[0] = w.s;
    }
  }
  __syncthreads();
  return {ms[0], ss[0]};
}

template <typename T>
__global__ void cross_entropy_kernel(
    const T* __restrict__ x,
    const std::int64_t* __restrict__ target,
    std::int64_t ignore,
    acc_t<T>* __restrict__ loss,
    acc_t<T>* __restrict__ lse,
    std::int64_t rows,
    std::int64_t n) {
  using A = acc_t<T>;
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const std::int64_t t = target[r];
    if (t == ignore) {  // uniform across the block: no thread reaches the block reduction
      if (threadIdx.x == 0) {
        loss[r] = 0;
        lse[r] = 0;
      }
      continue;
    }
    const T* xr = x + r * n;
    MaxSum<A> acc{-INFINITY, A(0)};
    for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) acc = push(acc, load(xr + i));
    acc = block_max_sum(acc);
    if (threadIdx.x == 0) {
      const A l = acc.m + log_(acc.s);  // an all -inf row: -inf + log(0) = -inf, as on CPU
      lse[r] = l;
      loss[r] = t >= 0 && t < n ? l - load(xr + t) : A(NAN);
    }
  }
}

template <typename T>
__global__ void cross_entropy_backward_kernel(
    const T* __restrict__ x,
    const std::int64_t* __restrict__ target,
    std::int64_t ignore,
    const acc_t<T>* __restrict__ lse,
    const acc_t<T>* __restrict__ scale,
    bool scale_per_row,
    T* __restrict__ grad,
    std::int64_t rows,
    std::int64_t n) {
  using A = acc_t<T>;
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const std::int64_t t = target[r];
    T* gr = grad + r * n;
    if (t == ignore) {
      for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) store(gr + i, A(0));
      continue;
    }
    const T* xr = x + r * n;
    const A sc = scale[scale_per_row ? r : 0];
    const A l = lse[r];
    const bool in_range = t >= 0 && t < n;  // else the row is NaN, as its loss
    for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      A v = in_range ? sc * exp_(load(xr + i) - l) : A(NAN);
      if (i == t)
        v -= sc;
      store(gr + i, v);
    }
  }
}

}  // namespace

void launch_cross_entropy(
    const void* logits,
    const std::int64_t* target,
    std::int64_t ignore_index,
    void* loss,
    void* lse,
    std::int64_t rows,
    std::int64_t vocab,
    DType dtype,
    void* stream) {
  dispatch_float(dtype, "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    using A = acc_t<T>;
    if (rows == 0)
      return;
    cross_entropy_kernel<T><<<grid_blocks(rows), row_threads(vocab), 0, as_stream(stream)>>>(
        static_cast<const T*>(logits),
        target,
        ignore_index,
        static_cast<A*>(loss),
        static_cast<A*>(lse),
        rows,
        vocab);
    PEFTCPP_CUDA_CHECK_LAUNCH("cross_entropy");
  });
}

void launch_cross_entropy_backward(
    const void* logits,
    const std::int64_t* target,
    std::int64_t ignore_index,
    const void* lse,
    const void* scale,
    bool scale_per_row,
    void* grad,
    std::int64_t rows,
    std::int64_t vocab,
    DType dtype,
    void* stream) {
  dispatch_float(dtype, "cross_entropy_backward", [&](auto tag) {
    using T = decltype(tag);
    using A = acc_t<T>;
    if (rows == 0 || vocab == 0)
      return;
    cross_entropy_backward_kernel<T>
        <<<grid_blocks(rows), row_threads(vocab), 0, as_stream(stream)>>>(
            static_cast<const T*>(logits),
            target,
            ignore_index,
            static_cast<const A*>(lse),
            static_cast<const A*>(scale),
            scale_per_row,
            static_cast<T*>(grad),
            rows,
            vocab);
    PEFTCPP_CUDA_CHECK_LAUNCH("cross_entropy_backward");
  });
}

}  // namespace peftcpp::cuda
