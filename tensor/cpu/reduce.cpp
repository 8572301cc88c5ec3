// Reductions, arg-reductions and cumsum. Accumulators: double for floating inputs, int64 for
// integers. Work is split over output elements, or over fixed-size chunks of the reduced range
// when there are few outputs (fixed chunking keeps results independent of the thread count).
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/reduce_plan.h"

namespace peftcpp::cpu {
namespace {

template <typename Acc>
struct ReduceFn {
  ReduceOp op;
  Acc identity() const {
    switch (op) {
      case ReduceOp::Sum: return Acc(0);
      case ReduceOp::Prod: return Acc(1);
      case ReduceOp::Max:
        if constexpr (std::is_floating_point_v<Acc>) return -std::numeric_limits<Acc>::infinity();
        return std::numeric_limits<Acc>::lowest();
      case ReduceOp::Min:
        if constexpr (std::is_floating_point_v<Acc>) return std::numeric_limits<Acc>::infinity();
        return std::numeric_limits<Acc>::max();
      case ReduceOp::All: return Acc(1);
      case ReduceOp::Any: return Acc(0);
    }
    return Acc(0);
  }
  Acc combine(Acc a, Acc b) const {
    switch (op) {
      case ReduceOp::Sum: return a + b;
      case ReduceOp::Prod: return a * b;
      case ReduceOp::Max:
        if constexpr (std::is_floating_point_v<Acc>) {
          if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<Acc>::quiet_NaN();
        }
        return a > b ? a : b;
      case ReduceOp::Min:
        if constexpr (std::is_floating_point_v<Acc>) {
          if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<Acc>::quiet_NaN();
        }
        return a < b ? a : b;
      case ReduceOp::All: return (a != Acc(0) && b != Acc(0)) ? Acc(1) : Acc(0);
      case ReduceOp::Any: return (a != Acc(0) || b != Acc(0)) ? Acc(1) : Acc(0);
    }
    return a;
  }
};

constexpr std::int64_t kChunk = 1 << 14;

template <typename T, typename Acc>
Acc reduce_range(const T* src, const ReducePlan& p, std::int64_t base, const ReduceFn<Acc>& fn) {
  Acc acc = fn.identity();
  if (p.inner_shape.size() == 1 && p.inner_src_strides[0] == 1 && fn.op == ReduceOp::Sum) {
    // contiguous sum: several independent accumulators so the loop vectorises
    const T* s = src + base;
    const std::int64_t n = p.inner_shape[0];
    Acc lanes[8] = {};
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      for (int l = 0; l < 8; ++l) lanes[l] += static_cast<Acc>(load(s + i + l));
    }
    for (; i < n; ++i) lanes[0] += static_cast<Acc>(load(s + i));
    for (int l = 0; l < 8; ++l) acc += lanes[l];
    return acc;
  }
  walk(p.inner_shape, p.inner_src_strides, base,
       [&](std::int64_t off) { acc = fn.combine(acc, static_cast<Acc>(load(src + off))); });
  return acc;
}

template <typename T, typename Acc>
void reduce_typed(ReduceOp op, const TensorView& src, const TensorView& dst) {
  const ReducePlan p = make_reduce_plan(src, dst);
  const ReduceFn<Acc> fn{op};
  const T* s = static_cast<const T*>(src.data);
  auto write = [&](std::int64_t o, Acc v) {
    const std::int64_t doff = offset_of(o, p.outer_shape, p.outer_dst_strides);
    dispatch_dtype(dst.dtype, [&]<typename D>() {
      store(static_cast<D*>(dst.data) + doff, static_cast<compute_t<D>>(v));
    });
  };
  if (p.outer == 0) return;
  const int threads = omp_get_max_threads();
  if (p.outer >= threads || p.inner < 2 * kChunk) {
    const bool par = p.outer * p.inner >= kParallelGrain && threads > 1 && !omp_in_parallel();
#pragma omp parallel for schedule(static) if (par)
    for (std::int64_t o = 0; o < p.outer; ++o) {
      write(o, reduce_range<T, Acc>(s, p, offset_of(o, p.outer_shape, p.outer_src_strides), fn));
    }
    return;
  }
  // Few outputs, long reductions: split the reduced range in fixed chunks.
  const std::int64_t nchunks = (p.inner + kChunk - 1) / kChunk;
  std::vector<Acc> partial(static_cast<std::size_t>(nchunks));
  for (std::int64_t o = 0; o < p.outer; ++o) {
    const std::int64_t base = offset_of(o, p.outer_shape, p.outer_src_strides);
#pragma omp parallel for schedule(static)
    for (std::int64_t c = 0; c < nchunks; ++c) {
      Acc acc = fn.identity();
      const std::int64_t end = std::min(p.inner, (c + 1) * kChunk);
      for (std::int64_t j = c * kChunk; j < end; ++j) {
        acc = fn.combine(acc, static_cast<Acc>(load(s + base + offset_of(j, p.inner_shape, p.inner_src_strides))));
      }
      partial[static_cast<std::size_t>(c)] = acc;
    }
    Acc total = fn.identity();
    for (Acc v : partial) total = fn.combine(total, v);
    write(o, total);
  }
}

}  // namespace

void CpuBackend::reduce(ReduceOp op, const TensorView& src, const TensorView& dst) {
  dispatch_dtype(src.dtype, [&]<typename T>() {
    if constexpr (std::is_floating_point_v<compute_t<T>>) {
      reduce_typed<T, double>(op, src, dst);
    } else {
      reduce_typed<T, std::int64_t>(op, src, dst);
    }
  });
}

void CpuBackend::arg_reduce(bool is_max, const TensorView& src, std::int64_t dim, const TensorView& values,
                            const TensorView& indices) {
  const std::int64_t n = src.shape[static_cast<std::size_t>(dim)];
  const std::int64_t step = src.strides[static_cast<std::size_t>(dim)];
  Shape outer_shape = src.shape;
  outer_shape[static_cast<std::size_t>(dim)] = 1;
  const std::int64_t outer = shape_numel(outer_shape);
  dispatch_dtype(src.dtype, [&]<typename T>() {
    using C = compute_t<T>;
    const T* s = static_cast<const T*>(src.data);
    T* v = static_cast<T*>(values.data);
    auto* ix = static_cast<std::int64_t*>(indices.data);
#pragma omp parallel for schedule(static) if (outer * n >= kParallelGrain)
    for (std::int64_t o = 0; o < outer; ++o) {
      const std::int64_t base = offset_of(o, outer_shape, src.strides);
      C best = load(s + base);
      std::int64_t best_i = 0;
      for (std::int64_t i = 1; i < n; ++i) {
        const C x = load(s + base + i * step);
        bool take;
        if constexpr (std::is_floating_point_v<C>) {
          if (std::isnan(best)) break;
          take = std::isnan(x) || (is_max ? x > best : x < best);
        } else {
          take = is_max ? x > best : x < best;
        }
        if (take) {
          best = x;
          best_i = i;
        }
      }
      v[offset_of(o, outer_shape, values.strides)] = s[base + best_i * step];
      ix[offset_of(o, outer_shape, indices.strides)] = best_i;
    }
  });
}

void CpuBackend::cumsum(const TensorView& src, const TensorView& dst, std::int64_t dim) {
  const std::int64_t n = src.shape[static_cast<std::size_t>(dim)];
  Shape outer_shape = src.shape;
  outer_shape[static_cast<std::size_t>(dim)] = 1;
  const std::int64_t outer = shape_numel(outer_shape);
  const std::int64_t ss = src.strides[static_cast<std::size_t>(dim)];
  const std::int64_t ds = dst.strides[static_cast<std::size_t>(dim)];
  dispatch_dtype(src.dtype, [&]<typename T>() {
    using Acc = std::conditional_t<std::is_floating_point_v<compute_t<T>>, double, std::int64_t>;
    const T* s = static_cast<const T*>(src.data);
    dispatch_dtype(dst.dtype, [&]<typename D>() {
      D* d = static_cast<D*>(dst.data);
#pragma omp parallel for schedule(static) if (outer * n >= kParallelGrain)
      for (std::int64_t o = 0; o < outer; ++o) {
        const std::int64_t sb = offset_of(o, outer_shape, src.strides);
        const std::int64_t db = offset_of(o, outer_shape, dst.strides);
        Acc acc = 0;
        for (std::int64_t i = 0; i < n; ++i) {
          acc += static_cast<Acc>(load(s + sb + i * ss));
          store(d + db + i * ds, static_cast<compute_t<D>>(acc));
        }
      }
    });
  });
}

}  // namespace peftcpp::cpu
