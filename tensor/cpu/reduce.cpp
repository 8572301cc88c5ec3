// Reductions, arg-reductions and cumsum. Accumulators: double for floating sums and products
// (max/min stay in float32 for float32, bf16 and f16 inputs, where they are exact), int64 for
// integers.
//
// Every output is a fixed-order combination of its inputs whoever computes it, so results do not
// depend on the thread count: a contiguous run is reduced in chunks of kChunk elements, each with
// 8 interleaved lanes, and the chunks are combined in order; a column reduction adds rows in order.
// Layouts, after dropping size-1 dims and ordering the reduced dims by decreasing stride:
//  - columns: the innermost src dim is kept (a bias gradient: sum over dim 0 of [N, C]); fixed
//    chunks of rows are accumulated into blocks of adjacent outputs (memory read contiguously),
//    and the chunk partials combined in order.
//  - rows: the innermost src dim is reduced; per output, contiguous runs through the lanes. With
//    few outputs, (output, chunk) pairs are spread over the threads.
//  - otherwise: a strided walk per output.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/reduce_plan.h"

namespace peftcpp::cpu {
namespace {

template <ReduceOp Op, typename Acc>
struct Red {
  static Acc identity() {
    if constexpr (Op == ReduceOp::Sum || Op == ReduceOp::Any)
      return Acc(0);
    if constexpr (Op == ReduceOp::Prod || Op == ReduceOp::All)
      return Acc(1);
    if constexpr (Op == ReduceOp::Max) {
      if constexpr (std::is_floating_point_v<Acc>)
        return -std::numeric_limits<Acc>::infinity();
      return std::numeric_limits<Acc>::lowest();
    }
    if constexpr (Op == ReduceOp::Min) {
      if constexpr (std::is_floating_point_v<Acc>)
        return std::numeric_limits<Acc>::infinity();
      return std::numeric_limits<Acc>::max();
    }
  }
  // Branch-free where possible so that the lane loops vectorise; NaN is sticky for Max/Min.
  static Acc combine(Acc a, Acc b) {
    if constexpr (Op == ReduceOp::Sum)
      return a + b;
    if constexpr (Op == ReduceOp::Prod)
      return a * b;
    if constexpr (Op == ReduceOp::Max)
      return ((b > a) | (b != b)) ? b : a;  // bitwise |: no branch
    if constexpr (Op == ReduceOp::Min)
      return ((b < a) | (b != b)) ? b : a;
    if constexpr (Op == ReduceOp::All)
      return (a != Acc(0) && b != Acc(0)) ? Acc(1) : Acc(0);
    if constexpr (Op == ReduceOp::Any)
      return (a != Acc(0) || b != Acc(0)) ? Acc(1) : Acc(0);
  }
};

constexpr std::int64_t kChunk = 1 << 14;
constexpr std::int64_t kLanes = 8;
constexpr std::int64_t kColumnBlock = 1024;
constexpr std::int64_t kRowChunk = 128;

// One chunk (n <= kChunk) of a contiguous run.
template <ReduceOp Op, typename T, typename Acc>
Acc reduce_chunk(const T* s, std::int64_t n) {
  using R = Red<Op, Acc>;
  Acc lanes[kLanes];
  for (Acc& l : lanes) l = R::identity();
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (std::int64_t l = 0; l < kLanes; ++l)
      lanes[l] = R::combine(lanes[l], static_cast<Acc>(load(s + i + l)));
  }
  for (; i < n; ++i) lanes[0] = R::combine(lanes[0], static_cast<Acc>(load(s + i)));
  Acc acc = lanes[0];
  for (std::int64_t l = 1; l < kLanes; ++l) acc = R::combine(acc, lanes[l]);
  return acc;
}

// A contiguous run of any length: chunks combined in order.
template <ReduceOp Op, typename T, typename Acc>
Acc reduce_run(const T* s, std::int64_t n) {
  Acc acc = reduce_chunk<Op, T, Acc>(s, std::min(n, kChunk));
  for (std::int64_t c = kChunk; c < n; c += kChunk) {
    acc = Red<Op, Acc>::combine(acc, reduce_chunk<Op, T, Acc>(s + c, std::min(kChunk, n - c)));
  }
  return acc;
}

struct Layout {
  ReducePlan p;
  bool inner_contiguous = false;  // last reduced dim has stride 1
  bool columns = false;           // last kept dim has stride 1
};

Layout make_layout_for(const TensorView& src, const TensorView& dst) {
  Layout L;
  L.p = make_reduce_plan(src, dst);
  // Traverse reduced dims from the largest stride to the smallest (memory order), then merge.
  std::vector<std::size_t> order(L.p.inner_shape.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return L.p.inner_src_strides[a] > L.p.inner_src_strides[b];
  });
  Shape sh;
  Strides st;
  for (std::size_t i : order) {
    sh.push_back(L.p.inner_shape[i]);
    st.push_back(L.p.inner_src_strides[i]);
  }
  coalesce(sh, st);
  L.p.inner_shape = sh;
  L.p.inner_src_strides = st;
  L.inner_contiguous = !st.empty() && st.back() == 1;
  L.columns = !L.p.outer_shape.empty() && L.p.outer_src_strides.back() == 1;
  return L;
}

template <typename Acc>
void write_out(const TensorView& dst, std::int64_t off, Acc v) {
  dispatch_dtype(dst.dtype, [&]<typename D>() {
    store(static_cast<D*>(dst.data) + off, static_cast<compute_t<D>>(v));
  });
}

// The whole reduction of output o (rows and strided layouts).
template <ReduceOp Op, typename T, typename Acc>
Acc reduce_output(const T* s, const Layout& L, std::int64_t o) {
  using R = Red<Op, Acc>;
  const ReducePlan& p = L.p;
  const std::int64_t base = offset_of(o, p.outer_shape, p.outer_src_strides);
  Acc acc = R::identity();
  if (L.inner_contiguous) {
    const std::int64_t run = p.inner_shape.back();
    const Shape lead(p.inner_shape.begin(), p.inner_shape.end() - 1);
    const Strides lead_st(p.inner_src_strides.begin(), p.inner_src_strides.end() - 1);
    bool first = true;
    walk(lead, lead_st, base, [&](std::int64_t off) {
      const Acc r = reduce_run<Op, T, Acc>(s + off, run);
      acc = first ? r : R::combine(acc, r);
      first = false;
    });
    return acc;
  }
  walk(p.inner_shape, p.inner_src_strides, base, [&](std::int64_t off) {
    acc = R::combine(acc, static_cast<Acc>(load(s + off)));
  });
  return acc;
}

// Tasks are (kept-prefix index, chunk of kRowChunk reduced rows, block of kColumnBlock columns):
// each reads contiguous row pieces, accumulates its rows in order, and chunk partials are then
// combined in order. With a single row chunk the task writes the outputs directly.
template <ReduceOp Op, typename T, typename Acc>
void reduce_columns(const T* s, const TensorView& dst, const Layout& L) {
  using R = Red<Op, Acc>;
  const ReducePlan& p = L.p;
  const std::int64_t cols = p.outer_shape.back();
  const std::int64_t dst_step = p.outer_dst_strides.back();
  const Shape rest(p.outer_shape.begin(), p.outer_shape.end() - 1);
  const Strides rest_src(p.outer_src_strides.begin(), p.outer_src_strides.end() - 1);
  const Strides rest_dst(p.outer_dst_strides.begin(), p.outer_dst_strides.end() - 1);
  const std::int64_t nrest = shape_numel(rest);
  const std::int64_t row_chunks = (p.inner + kRowChunk - 1) / kRowChunk;
  const std::int64_t blocks = (cols + kColumnBlock - 1) / kColumnBlock;
  const std::int64_t tasks = nrest * row_chunks * blocks;
  std::vector<Acc> partial(
      row_chunks > 1 ? static_cast<std::size_t>(nrest * row_chunks * cols) : 0);
  const bool par = p.outer * p.inner >= kParallelGrain && tasks > 1 && !omp_in_parallel();
#pragma omp parallel for schedule(static) if (par)
  for (std::int64_t t = 0; t < tasks; ++t) {
    const std::int64_t o2 = t / (row_chunks * blocks), rc = t / blocks % row_chunks;
    const std::int64_t j0 = t % blocks * kColumnBlock, nj = std::min(kColumnBlock, cols - j0);
    Acc acc[kColumnBlock];
    for (std::int64_t j = 0; j < nj; ++j) acc[j] = R::identity();
    const std::int64_t base = offset_of(o2, rest, rest_src) + j0;
    const std::int64_t r_end = std::min(p.inner, (rc + 1) * kRowChunk);
    std::int64_t r = rc * kRowChunk;
    // four rows per pass over acc (fewer accumulator round trips), combined row by row in order
    for (; r + 4 <= r_end; r += 4) {
      const T* r0 = s + base + offset_of(r, p.inner_shape, p.inner_src_strides);
      const T* r1 = s + base + offset_of(r + 1, p.inner_shape, p.inner_src_strides);
      const T* r2 = s + base + offset_of(r + 2, p.inner_shape, p.inner_src_strides);
      const T* r3 = s + base + offset_of(r + 3, p.inner_shape, p.inner_src_strides);
      for (std::int64_t j = 0; j < nj; ++j) {
        Acc a = R::combine(acc[j], static_cast<Acc>(load(r0 + j)));
        a = R::combine(a, static_cast<Acc>(load(r1 + j)));
        a = R::combine(a, static_cast<Acc>(load(r2 + j)));
        acc[j] = R::combine(a, static_cast<Acc>(load(r3 + j)));
      }
    }
    for (; r < r_end; ++r) {
      const T* row = s + base + offset_of(r, p.inner_shape, p.inner_src_strides);
      for (std::int64_t j = 0; j < nj; ++j) {
        acc[j] = R::combine(acc[j], static_cast<Acc>(load(row + j)));
      }
    }
    if (row_chunks > 1) {
      std::copy(acc, acc + nj, partial.begin() + (o2 * row_chunks + rc) * cols + j0);
    } else {
      const std::int64_t dbase = offset_of(o2, rest, rest_dst) + j0 * dst_step;
      for (std::int64_t j = 0; j < nj; ++j) write_out(dst, dbase + j * dst_step, acc[j]);
    }
  }
  if (row_chunks == 1)
    return;
  for (std::int64_t o2 = 0; o2 < nrest; ++o2) {
    const Acc* part = partial.data() + o2 * row_chunks * cols;
    const std::int64_t dbase = offset_of(o2, rest, rest_dst);
    for (std::int64_t j = 0; j < cols; ++j) {
      Acc acc = part[j];
      for (std::int64_t rc = 1; rc < row_chunks; ++rc) acc = R::combine(acc, part[rc * cols + j]);
      write_out(dst, dbase + j * dst_step, acc);
    }
  }
}

template <ReduceOp Op, typename T, typename Acc>
void reduce_rows(const T* s, const TensorView& dst, const Layout& L) {
  using R = Red<Op, Acc>;
  const ReducePlan& p = L.p;
  const int threads = omp_get_max_threads();
  const bool par = p.outer * p.inner >= kParallelGrain && threads > 1 && !omp_in_parallel();
  const bool one_run = L.inner_contiguous && p.inner_shape.size() == 1;
  const std::int64_t nchunks = one_run ? (p.inner + kChunk - 1) / kChunk : 1;
  if (!par || p.outer >= 2 * threads || nchunks < 2) {
#pragma omp parallel for schedule(static) if (par)
    for (std::int64_t o = 0; o < p.outer; ++o) {
      write_out(
          dst,
          offset_of(o, p.outer_shape, p.outer_dst_strides),
          reduce_output<Op, T, Acc>(s, L, o));
    }
    return;
  }
  // Few long contiguous reductions: (output, chunk) pairs over the threads, then the same
  // in-order combination as reduce_run.
  std::vector<Acc> partial(static_cast<std::size_t>(p.outer * nchunks));
#pragma omp parallel for schedule(static)
  for (std::int64_t t = 0; t < p.outer * nchunks; ++t) {
    const std::int64_t o = t / nchunks, c = (t % nchunks) * kChunk;
    const T* run = s + offset_of(o, p.outer_shape, p.outer_src_strides);
    partial[static_cast<std::size_t>(t)] =
        reduce_chunk<Op, T, Acc>(run + c, std::min(kChunk, p.inner - c));
  }
  for (std::int64_t o = 0; o < p.outer; ++o) {
    Acc acc = partial[static_cast<std::size_t>(o * nchunks)];
    for (std::int64_t c = 1; c < nchunks; ++c)
      acc = R::combine(acc, partial[static_cast<std::size_t>(o * nchunks + c)]);
    write_out(dst, offset_of(o, p.outer_shape, p.outer_dst_strides), acc);
  }
}

template <ReduceOp Op, typename T, typename Acc>
void reduce_typed(const TensorView& src, const TensorView& dst) {
  const Layout L = make_layout_for(src, dst);
  if (L.p.outer == 0)
    return;
  const T* s = static_cast<const T*>(src.data);
  if (L.columns && L.p.inner > 0)
    return reduce_columns<Op, T, Acc>(s, dst, L);
  reduce_rows<Op, T, Acc>(s, dst, L);
}

template <typename T, typename Acc>
using MinMaxAcc = std::conditional_t<std::is_same_v<compute_t<T>, float>, float, Acc>;

template <typename T, typename Acc>
void reduce_dispatch(ReduceOp op, const TensorView& src, const TensorView& dst) {
  switch (op) {
    case ReduceOp::Sum:
      return reduce_typed<ReduceOp::Sum, T, Acc>(src, dst);
    case ReduceOp::Prod:
      return reduce_typed<ReduceOp::Prod, T, Acc>(src, dst);
    // max/min are exact in the compute type: no need to widen float32 (and bf16/f16) to double
    case ReduceOp::Max:
      return reduce_typed<ReduceOp::Max, T, MinMaxAcc<T, Acc>>(src, dst);
    case ReduceOp::Min:
      return reduce_typed<ReduceOp::Min, T, MinMaxAcc<T, Acc>>(src, dst);
    case ReduceOp::All:
      return reduce_typed<ReduceOp::All, T, Acc>(src, dst);
    case ReduceOp::Any:
      return reduce_typed<ReduceOp::Any, T, Acc>(src, dst);
  }
}

}  // namespace

void CpuBackend::reduce(ReduceOp op, const TensorView& src, const TensorView& dst) {
  dispatch_dtype(src.dtype, [&]<typename T>() {
    if constexpr (std::is_floating_point_v<compute_t<T>>) {
      reduce_dispatch<T, double>(op, src, dst);
    } else {
      reduce_dispatch<T, std::int64_t>(op, src, dst);
    }
  });
}

void CpuBackend::arg_reduce(
    bool is_max,
    const TensorView& src,
    std::int64_t dim,
    const TensorView& values,
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
          if (std::isnan(best))
            break;
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
