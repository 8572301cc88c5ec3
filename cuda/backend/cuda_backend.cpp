// CudaBackend: forwards each virtual to its kernel family on the current stream.
#include "cuda/backend/cuda_backend.h"

#include "cuda/context.h"
#include "cuda/host_transfer.h"
#include "cuda/kernels/kernels.h"

namespace peftcpp::cuda {

CudaBackend& cuda_backend() {
  static CudaBackend* b = new CudaBackend();
  return *b;
}

void CudaBackend::copy(const TensorView& src, const TensorView& dst) {
  kernels::copy(src, dst, current_stream());
}

void CudaBackend::fill(const TensorView& dst, double value) {
  kernels::fill(dst, value, current_stream());
}

void CudaBackend::copy_to_host(const void* src, void* dst, std::size_t nbytes) {
  copy_device_to_host(src, dst, nbytes);
}

void CudaBackend::copy_from_host(const void* src, void* dst, std::size_t nbytes) {
  copy_host_to_device(src, dst, nbytes);
}

void CudaBackend::unary(UnaryOp op, const TensorView& src, const TensorView& dst, double p0, double p1) {
  kernels::unary(op, src, dst, p0, p1, current_stream());
}

void CudaBackend::binary(BinaryOp op, const TensorView& a, const TensorView& b, const TensorView& dst, double p0) {
  kernels::binary(op, a, b, dst, p0, current_stream());
}

void CudaBackend::where(const TensorView& cond, const TensorView& a, const TensorView& b, const TensorView& dst) {
  kernels::where(cond, a, b, dst, current_stream());
}

void CudaBackend::reduce(ReduceOp op, const TensorView& src, const TensorView& dst) {
  kernels::reduce(op, src, dst, current_stream());
}

void CudaBackend::arg_reduce(bool is_max, const TensorView& src, std::int64_t dim, const TensorView& values,
                             const TensorView& indices) {
  kernels::arg_reduce(is_max, src, dim, values, indices, current_stream());
}

void CudaBackend::cumsum(const TensorView& src, const TensorView& dst, std::int64_t dim) {
  kernels::cumsum(src, dst, dim, current_stream());
}

void CudaBackend::softmax(const TensorView& src, const TensorView& dst, std::int64_t dim, bool log) {
  kernels::softmax(src, dst, dim, log, current_stream());
}

void CudaBackend::index_select(const TensorView& src, std::int64_t dim, const TensorView& index,
                               const TensorView& dst) {
  kernels::index_select(src, dim, index, dst, current_stream());
}

void CudaBackend::gather(const TensorView& src, std::int64_t dim, const TensorView& index, const TensorView& dst) {
  kernels::gather(src, dim, index, dst, current_stream());
}

void CudaBackend::scatter(const TensorView& dst, std::int64_t dim, const TensorView& index, const TensorView& src,
                          bool accumulate) {
  kernels::scatter(dst, dim, index, src, accumulate, current_stream());
}

void CudaBackend::index_add(const TensorView& dst, std::int64_t dim, const TensorView& index, const TensorView& src,
                            double alpha) {
  kernels::index_add(dst, dim, index, src, alpha, current_stream());
}

void CudaBackend::random(const TensorView& dst, int kind, double low, double high, std::uint64_t seed,
                         std::uint64_t offset) {
  kernels::random(dst, kind, low, high, seed, offset, current_stream());
}

}  // namespace peftcpp::cuda
