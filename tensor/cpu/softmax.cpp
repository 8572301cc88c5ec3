// Softmax / log-softmax along one dim (max-subtracted, accumulated in the compute type's wider
// accumulator).
#include <cmath>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/reduce_plan.h"

namespace peftcpp::cpu {

void CpuBackend::softmax(const TensorView& src, const TensorView& dst, std::int64_t dim, bool log) {
  const std::int64_t n = src.shape[static_cast<std::size_t>(dim)];
  Shape outer_shape = src.shape;
  outer_shape[static_cast<std::size_t>(dim)] = 1;
  const std::int64_t outer = shape_numel(outer_shape);
  const std::int64_t ss = src.strides[static_cast<std::size_t>(dim)];
  const std::int64_t ds = dst.strides[static_cast<std::size_t>(dim)];
  dispatch_floating(src.dtype, "softmax", [&]<typename T>() {
    using C = compute_t<T>;
    using Acc = std::conditional_t<std::is_same_v<C, double>, double, float>;
    const T* s = static_cast<const T*>(src.data);
    T* d = static_cast<T*>(dst.data);
#pragma omp parallel for schedule(static) if (outer * n >= kParallelGrain)
    for (std::int64_t o = 0; o < outer; ++o) {
      const T* x = s + offset_of(o, outer_shape, src.strides);
      T* y = d + offset_of(o, outer_shape, dst.strides);
      Acc mx = -std::numeric_limits<Acc>::infinity();
      for (std::int64_t i = 0; i < n; ++i) mx = std::max<Acc>(mx, static_cast<Acc>(load(x + i * ss)));
      if (std::isinf(mx) && mx < 0) mx = 0;  // all -inf row: exp gives 0s, sum 0 -> NaN like PyTorch
      Acc sum = 0;
      if (log) {
        for (std::int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<Acc>(load(x + i * ss)) - mx);
        const Acc lse = mx + std::log(sum);
        for (std::int64_t i = 0; i < n; ++i) store(y + i * ds, static_cast<Acc>(load(x + i * ss)) - lse);
      } else {
        for (std::int64_t i = 0; i < n; ++i) {
          const Acc e = std::exp(static_cast<Acc>(load(x + i * ss)) - mx);
          store(y + i * ds, e);
          sum += e;
        }
        const Acc inv = Acc(1) / sum;
        for (std::int64_t i = 0; i < n; ++i) store(y + i * ds, static_cast<Acc>(load(y + i * ds)) * inv);
      }
    }
  });
}

}  // namespace peftcpp::cpu
