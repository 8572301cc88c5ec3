// Adam / AdamW as one multi-tensor CUDA launch. The host writes a table (pointers, sizes and the
// first chunk of each tensor) into a device workspace; each block takes chunks of kChunk
// elements, finds its tensor by binary search over the table and updates those elements with
// the CPU kernel's formula (tensor/cpu/fused/fused_adam.cpp), operation for operation and with
// explicitly rounded intrinsics so that no a * b + c is contracted into an FMA: float32 and
// float64 results equal the CPU's, 16-bit ones are the CPU's float32 results rounded once.
#include <cmath>
#include <vector>

#include "cuda/kernels/fused.h"
#include "cuda/kernels/fused_common.cuh"

namespace peftcpp::cuda {
namespace {

using namespace fused_detail;

constexpr std::int64_t kChunk = 4096;
constexpr unsigned kThreads = 256;

struct TableEntry {
  void* param;
  const void* grad;
  void* exp_avg;
  void* exp_avg_sq;
  void* max_exp_avg_sq;
  std::int64_t numel;
  std::int64_t first_chunk;
};

// The step's scalars, computed in double on the host as the CPU kernel does; the kernel casts
// them to its compute type.
struct Scalars {
  double decay, wd, b1, b2, c1, c2, step_size, bc2_sqrt, eps, sign;
  bool decoupled, coupled_wd;
};

__device__ __forceinline__ float mul(float a, float b) {
  return __fmul_rn(a, b);
}
__device__ __forceinline__ double mul(double a, double b) {
  return __dmul_rn(a, b);
}
__device__ __forceinline__ float add(float a, float b) {
  return __fadd_rn(a, b);
}
__device__ __forceinline__ double add(double a, double b) {
  return __dadd_rn(a, b);
}
__device__ __forceinline__ float div(float a, float b) {
  return __fdiv_rn(a, b);
}
__device__ __forceinline__ double div(double a, double b) {
  return __ddiv_rn(a, b);
}
__device__ __forceinline__ float sqrt_rn(float a) {
  return __fsqrt_rn(a);
}
__device__ __forceinline__ double sqrt_rn(double a) {
  return __dsqrt_rn(a);
}

template <typename T>
__global__ void adam_kernel(
    const TableEntry* __restrict__ table, int count, std::int64_t chunks, Scalars sc) {
  using A = acc_t<T>;
  const A decay = static_cast<A>(sc.decay), wd = static_cast<A>(sc.wd);
  const A b1 = static_cast<A>(sc.b1), b2 = static_cast<A>(sc.b2);
  const A c1 = static_cast<A>(sc.c1), c2 = static_cast<A>(sc.c2);
  const A neg_step_size = -static_cast<A>(sc.step_size);
  const A bc2_sqrt = static_cast<A>(sc.bc2_sqrt), eps = static_cast<A>(sc.eps),
          sign = static_cast<A>(sc.sign);
  for (std::int64_t chunk = blockIdx.x; chunk < chunks; chunk += gridDim.x) {
    int lo = 0, hi = count - 1;  // the last entry whose first_chunk <= chunk
    while (lo < hi) {
      const int mid = (lo + hi + 1) / 2;
      if (table[mid].first_chunk <= chunk) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    const TableEntry e = table[lo];
    T* p = static_cast<T*>(e.param);
    const T* g = static_cast<const T*>(e.grad);
    T* m = static_cast<T*>(e.exp_avg);
    T* v = static_cast<T*>(e.exp_avg_sq);
    T* vmax = static_cast<T*>(e.max_exp_avg_sq);
    const std::int64_t begin = (chunk - e.first_chunk) * kChunk;
    const std::int64_t end = begin + kChunk < e.numel ? begin + kChunk : e.numel;
    for (std::int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
      A gi = mul(sign, load(g + i));
      A pi = load(p + i);
      if (sc.decoupled)
        pi = mul(pi, decay);
      if (sc.coupled_wd)
        gi = add(gi, mul(wd, pi));
      const A mi = add(mul(load(m + i), b1), mul(c1, gi));
      const A vi = add(mul(load(v + i), b2), mul(c2, mul(gi, gi)));
      store(m + i, mi);
      store(v + i, vi);
      A vhat = vi;
      if (vmax != nullptr) {
        const A old = load(vmax + i);
        vhat = old > vi || isnan(old) ? old : vi;
        store(vmax + i, vhat);
      }
      const A denom = add(div(sqrt_rn(vhat), bc2_sqrt), eps);
      store(p + i, add(pi, mul(neg_step_size, div(mi, denom))));
    }
  }
}

}  // namespace

std::size_t adam_step_workspace_bytes(std::size_t count) {
  return count * sizeof(TableEntry);
}

void launch_adam_step(
    const AdamTensor* tensors,
    std::size_t count,
    const AdamStepArgs& args,
    DType dtype,
    void* workspace,
    void* stream) {
  dispatch_float(dtype, "adam_step", [&](auto tag) {
    using T = decltype(tag);
    std::vector<TableEntry> table;
    table.reserve(count);
    std::int64_t chunks = 0;
    for (std::size_t k = 0; k < count; ++k) {
      const AdamTensor& t = tensors[k];
      if (t.numel == 0)
        continue;
      if (args.amsgrad != (t.max_exp_avg_sq != nullptr)) {
        throw DeviceError(
            "[adam_step] tensor " + std::to_string(k) +
            (args.amsgrad ? ": amsgrad needs max_exp_avg_sq"
                          : ": max_exp_avg_sq given without amsgrad"));
      }
      table.push_back(
          {t.param, t.grad, t.exp_avg, t.exp_avg_sq, t.max_exp_avg_sq, t.numel, chunks});
      chunks += (t.numel + kChunk - 1) / kChunk;
    }
    if (table.empty())
      return;
    if (workspace == nullptr)
      throw DeviceError("[adam_step] the tensor table needs a device workspace");
    if (table.size() > static_cast<std::size_t>(INT32_MAX))
      throw DeviceError("[adam_step] too many tensors");
    const cudaStream_t s = as_stream(stream);
    // From pageable host memory the copy is staged before cudaMemcpyAsync returns, so `table`
    // may go out of scope; the kernel reads the workspace in stream order after the copy.
    PEFTCPP_CUDA_CHECK(
        "adam_step",
        cudaMemcpyAsync(
            workspace, table.data(), table.size() * sizeof(TableEntry), cudaMemcpyHostToDevice, s));
    Scalars sc{};
    sc.decay = 1.0 - args.lr * args.weight_decay;
    sc.wd = args.weight_decay;
    sc.b1 = args.beta1;
    sc.b2 = args.beta2;
    sc.c1 = 1.0 - args.beta1;
    sc.c2 = 1.0 - args.beta2;
    sc.step_size = args.lr / (1.0 - std::pow(args.beta1, args.step));
    sc.bc2_sqrt = std::sqrt(1.0 - std::pow(args.beta2, args.step));
    sc.eps = args.eps;
    sc.sign = args.maximize ? -1.0 : 1.0;
    sc.decoupled = args.decoupled;
    sc.coupled_wd = !args.decoupled && args.weight_decay != 0.0;
    adam_kernel<T><<<grid_blocks(chunks), kThreads, 0, s>>>(
        static_cast<const TableEntry*>(workspace), static_cast<int>(table.size()), chunks, sc);
    PEFTCPP_CUDA_CHECK_LAUNCH("adam_step");
  });
}

}  // namespace peftcpp::cuda
