// The current stream and the cuBLAS handle of device 0 (see cuda/context.h for the ordering rules).
#include "cuda/context.h"

#include <mutex>

#include "cuda/check.h"

namespace peftcpp::cuda {
namespace {

struct Context {
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  int sm_count = 0;
};

// Created once and never destroyed: tensors held by static objects may still be freed (and the
// allocator may still enqueue work) after main() returns, when destroying streams is unsafe.
Context& context() {
  static Context* ctx = [] {
    auto* c = new Context();
    PEFTCPP_CUDA_CHECK("cuda context", cudaSetDevice(0));
    // Non-blocking: no implicit synchronisation with the legacy default stream, which we never use.
    PEFTCPP_CUDA_CHECK("cuda context", cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    PEFTCPP_CUDA_CHECK("cuda context",
                       cudaDeviceGetAttribute(&c->sm_count, cudaDevAttrMultiProcessorCount, 0));
    return c;
  }();
  return *ctx;
}

}  // namespace

cudaStream_t current_stream() {
  return context().stream;
}

void synchronize() {
  PEFTCPP_CUDA_CHECK("synchronize", cudaStreamSynchronize(current_stream()));
}

cublasHandle_t cublas_handle() {
  static std::once_flag once;
  std::call_once(once, [] {
    Context& c = context();
    PEFTCPP_CUBLAS_CHECK("cublas", cublasCreate(&c.cublas));
    PEFTCPP_CUBLAS_CHECK("cublas", cublasSetStream(c.cublas, c.stream));
    // Never let cuBLAS pick reduced-precision paths on its own; gemm chooses the compute type.
    PEFTCPP_CUBLAS_CHECK("cublas", cublasSetMathMode(c.cublas, static_cast<cublasMath_t>(CUBLAS_DEFAULT_MATH | CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)));
  });
  return context().cublas;
}

int multiprocessor_count() {
  return context().sm_count;
}

}  // namespace peftcpp::cuda
