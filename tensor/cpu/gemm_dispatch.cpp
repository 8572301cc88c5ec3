// Backend::gemm on the CPU: float32 through our packed GEMM (tensor/cpu/gemm), float64 through
// its Eigen path. 16-bit floats are widened to float32 by the matmul op before reaching here.
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/gemm/gemm.h"
#include "tensor/error.h"

namespace peftcpp::cpu {

void CpuBackend::gemm(const GemmArgs& g) {
  switch (g.dtype) {
    case DType::Float32:
      return sgemm_strided_batched(g.trans_a, g.trans_b, g.m, g.n, g.k, static_cast<float>(g.alpha),
                                   static_cast<const float*>(g.a), g.lda, static_cast<const float*>(g.b), g.ldb,
                                   static_cast<float>(g.beta), static_cast<float*>(g.c), g.ldc, g.batch, g.stride_a,
                                   g.stride_b, g.stride_c);
    case DType::Float64:
      return dgemm_strided_batched(g.trans_a, g.trans_b, g.m, g.n, g.k, g.alpha, static_cast<const double*>(g.a),
                                   g.lda, static_cast<const double*>(g.b), g.ldb, g.beta, static_cast<double*>(g.c),
                                   g.ldc, g.batch, g.stride_a, g.stride_b, g.stride_c);
    default:
      throw DTypeError(std::string("[matmul] CPU gemm supports float32/float64 directly, got ") + dtype_name(g.dtype));
  }
}

}  // namespace peftcpp::cpu
