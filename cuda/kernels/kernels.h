// Host entry points of the CUDA kernels, one per Backend virtual (internal). Each enqueues its
// work on `stream` and returns without waiting; arguments have the meaning documented in
// tensor/backend/backend.h, and semantics follow the CPU backend (tensor/cpu).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "tensor/backend/backend.h"

namespace peftcpp::cuda::kernels {

void copy(const TensorView& src, const TensorView& dst, cudaStream_t stream);
void fill(const TensorView& dst, double value, cudaStream_t stream);
void unary(UnaryOp op, const TensorView& src, const TensorView& dst, double p0, double p1, cudaStream_t stream);
void binary(BinaryOp op, const TensorView& a, const TensorView& b, const TensorView& dst, double p0,
            cudaStream_t stream);
void where(const TensorView& cond, const TensorView& a, const TensorView& b, const TensorView& dst,
           cudaStream_t stream);
void reduce(ReduceOp op, const TensorView& src, const TensorView& dst, cudaStream_t stream);
void arg_reduce(bool is_max, const TensorView& src, std::int64_t dim, const TensorView& values,
                const TensorView& indices, cudaStream_t stream);
void cumsum(const TensorView& src, const TensorView& dst, std::int64_t dim, cudaStream_t stream);
void softmax(const TensorView& src, const TensorView& dst, std::int64_t dim, bool log, cudaStream_t stream);
void index_select(const TensorView& src, std::int64_t dim, const TensorView& index, const TensorView& dst,
                  cudaStream_t stream);
void gather(const TensorView& src, std::int64_t dim, const TensorView& index, const TensorView& dst,
            cudaStream_t stream);
void scatter(const TensorView& dst, std::int64_t dim, const TensorView& index, const TensorView& src,
             bool accumulate, cudaStream_t stream);
void index_add(const TensorView& dst, std::int64_t dim, const TensorView& index, const TensorView& src,
               double alpha, cudaStream_t stream);
void random(const TensorView& dst, int kind, double low, double high, std::uint64_t seed, std::uint64_t offset,
            cudaStream_t stream);


// The fused training kernels have their own launchers: cuda/kernels/fused.h.

}  // namespace peftcpp::cuda::kernels
