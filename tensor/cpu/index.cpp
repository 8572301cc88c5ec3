// index_select / gather / scatter / index_add. Index tensors are int64 and already validated.
#include <cstring>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/reduce_plan.h"

namespace peftcpp::cpu {
namespace {

std::int64_t ix_at(const TensorView& index, std::int64_t i) {
  return static_cast<const std::int64_t*>(index.data)[offset_of(i, index.shape, index.strides)];
}

}  // namespace

void CpuBackend::index_select(const TensorView& src, std::int64_t dim, const TensorView& index, const TensorView& dst) {
  const auto ud = static_cast<std::size_t>(dim);
  const std::int64_t nidx = index.numel();
  // outer = dims before `dim`, inner = dims after
  Shape outer_shape(src.shape.begin(), src.shape.begin() + dim);
  Shape inner_shape(src.shape.begin() + dim + 1, src.shape.end());
  Strides so(src.strides.begin(), src.strides.begin() + dim), si(src.strides.begin() + dim + 1, src.strides.end());
  Strides dso(dst.strides.begin(), dst.strides.begin() + dim), dsi(dst.strides.begin() + dim + 1, dst.strides.end());
  const std::int64_t outer = shape_numel(outer_shape), inner = shape_numel(inner_shape);
  const std::size_t isz = itemsize(src.dtype);
  const bool rows_contiguous = TensorView{nullptr, src.dtype, inner_shape, si}.is_contiguous() &&
                               TensorView{nullptr, dst.dtype, inner_shape, dsi}.is_contiguous();
  const char* s = static_cast<const char*>(src.data);
  char* d = static_cast<char*>(dst.data);
#pragma omp parallel for collapse(2) schedule(static) if (outer * nidx * inner >= kParallelGrain)
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t j = 0; j < nidx; ++j) {
      const std::int64_t row = ix_at(index, j);
      const char* sp = s + (offset_of(o, outer_shape, so) + row * src.strides[ud]) * static_cast<std::int64_t>(isz);
      char* dp = d + (offset_of(o, outer_shape, dso) + j * dst.strides[ud]) * static_cast<std::int64_t>(isz);
      if (rows_contiguous) {
        std::memcpy(dp, sp, static_cast<std::size_t>(inner) * isz);
      } else {
        for (std::int64_t i = 0; i < inner; ++i) {
          std::memcpy(dp + offset_of(i, inner_shape, dsi) * static_cast<std::int64_t>(isz),
                      sp + offset_of(i, inner_shape, si) * static_cast<std::int64_t>(isz), isz);
        }
      }
    }
  }
}

void CpuBackend::gather(const TensorView& src, std::int64_t dim, const TensorView& index, const TensorView& dst) {
  const auto ud = static_cast<std::size_t>(dim);
  const std::int64_t n = index.numel();
  const std::size_t isz = itemsize(src.dtype);
  const char* s = static_cast<const char*>(src.data);
  char* d = static_cast<char*>(dst.data);
#pragma omp parallel for schedule(static) if (n >= kParallelGrain)
  for (std::int64_t i = 0; i < n; ++i) {
    // position of element i of index, as a multi-index; the gathered dim comes from the index value
    std::int64_t rem = i, soff = 0, doff = 0, ioff = 0;
    for (std::size_t k = index.shape.size(); k-- > 0;) {
      const std::int64_t c = rem % index.shape[k];
      rem /= index.shape[k];
      ioff += c * index.strides[k];
      doff += c * dst.strides[k];
      if (k != ud) soff += c * src.strides[k];
    }
    soff += static_cast<const std::int64_t*>(index.data)[ioff] * src.strides[ud];
    std::memcpy(d + doff * static_cast<std::int64_t>(isz), s + soff * static_cast<std::int64_t>(isz), isz);
  }
}

void CpuBackend::scatter(const TensorView& dst, std::int64_t dim, const TensorView& index, const TensorView& src,
                         bool accumulate) {
  const auto ud = static_cast<std::size_t>(dim);
  const std::int64_t n = index.numel();
  dispatch_dtype(dst.dtype, [&]<typename T>() {
    T* d = static_cast<T*>(dst.data);
    const T* s = static_cast<const T*>(src.data);
    // Sequential: several index entries may hit the same destination.
    for (std::int64_t i = 0; i < n; ++i) {
      std::int64_t rem = i, soff = 0, doff = 0, ioff = 0;
      for (std::size_t k = index.shape.size(); k-- > 0;) {
        const std::int64_t c = rem % index.shape[k];
        rem /= index.shape[k];
        ioff += c * index.strides[k];
        soff += c * src.strides[k];
        if (k != ud) doff += c * dst.strides[k];
      }
      doff += static_cast<const std::int64_t*>(index.data)[ioff] * dst.strides[ud];
      if (accumulate) {
        store(d + doff, static_cast<compute_t<T>>(load(d + doff) + load(s + soff)));
      } else {
        d[doff] = s[soff];
      }
    }
  });
}

void CpuBackend::index_add(const TensorView& dst, std::int64_t dim, const TensorView& index, const TensorView& src,
                           double alpha) {
  const auto ud = static_cast<std::size_t>(dim);
  const std::int64_t nidx = index.numel();
  Shape rest_shape = src.shape;
  rest_shape[ud] = 1;
  const std::int64_t rest = shape_numel(rest_shape);
  dispatch_dtype(dst.dtype, [&]<typename T>() {
    using C = compute_t<T>;
    T* d = static_cast<T*>(dst.data);
    const T* s = static_cast<const T*>(src.data);
    const C a = static_cast<C>(alpha);
    // Parallel over the non-indexed positions: each thread owns distinct destination elements.
#pragma omp parallel for schedule(static) if (rest * nidx >= kParallelGrain)
    for (std::int64_t r = 0; r < rest; ++r) {
      const std::int64_t so = offset_of(r, rest_shape, src.strides);
      const std::int64_t dof = offset_of(r, rest_shape, dst.strides);
      for (std::int64_t j = 0; j < nidx; ++j) {
        const std::int64_t row = ix_at(index, j);
        T* dp = d + dof + row * dst.strides[ud];
        store(dp, static_cast<C>(load(dp) + a * load(s + so + j * src.strides[ud])));
      }
    }
  });
}

}  // namespace peftcpp::cpu
