// CudaBackend::gemm through cublasGemmStridedBatchedEx.
//
// Our GEMMs are row-major: C[m, n] = op(A) op(B). cuBLAS is column-major, and a row-major matrix
// read column-major is its transpose, so we ask cuBLAS for C^T[n, m] = op(B)^T op(A)^T: the
// operands are swapped (B first), m and n are swapped, and each operand keeps its own transpose
// flag and leading dimension. Transposed operands are therefore cuBLAS op flags, never copies.
// Types: float32 (compute 32F, or 32F_FAST_TF32 when set_allow_tf32(true)), float64 (64F),
// bfloat16 and float16 in and out with float32 compute. Other dtypes are refused.
#include <atomic>
#include <climits>
#include <string>

#include "cuda/backend/cuda_backend.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/cuda.h"
#include "cuda/kernels/kernels.h"

namespace peftcpp::cuda {
namespace {

std::atomic<bool> g_allow_tf32{false};

int to_int(std::int64_t v, const char* what) {
  if (v < 0 || v > INT_MAX) {
    throw DeviceError(std::string("[matmul] cuBLAS GEMM: ") + what + " = " + std::to_string(v) +
                      " does not fit the 32-bit int cuBLAS takes");
  }
  return static_cast<int>(v);
}

}  // namespace

void set_allow_tf32(bool allow) {
  g_allow_tf32.store(allow, std::memory_order_relaxed);
}

bool allow_tf32() {
  return g_allow_tf32.load(std::memory_order_relaxed);
}

void CudaBackend::gemm(const GemmArgs& g) {
  if (g.m == 0 || g.n == 0 || g.batch == 0) return;
  cudaDataType_t type;
  cublasComputeType_t compute;
  switch (g.dtype) {
    case DType::Float32:
      type = CUDA_R_32F;
      compute = allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
      break;
    case DType::Float64:
      type = CUDA_R_64F;
      compute = CUBLAS_COMPUTE_64F;
      break;
    case DType::BFloat16:
      type = CUDA_R_16BF;
      compute = CUBLAS_COMPUTE_32F;
      break;
    case DType::Float16:
      type = CUDA_R_16F;
      compute = CUBLAS_COMPUTE_32F;
      break;
    default:
      throw DeviceError(std::string("[matmul] the CUDA backend multiplies float32, float64, bfloat16 and "
                                    "float16 matrices through cuBLAS; ") +
                        dtype_name(g.dtype) + " is not supported");
  }
  // alpha/beta have the compute type's precision: double for 64F, float otherwise.
  const double alpha_d = g.alpha, beta_d = g.beta;
  const float alpha_f = static_cast<float>(g.alpha), beta_f = static_cast<float>(g.beta);
  const bool f64 = compute == CUBLAS_COMPUTE_64F;
  const void* alpha = f64 ? static_cast<const void*>(&alpha_d) : static_cast<const void*>(&alpha_f);
  const void* beta = f64 ? static_cast<const void*>(&beta_d) : static_cast<const void*>(&beta_f);
  if (g.k == 0) {
    // C = beta * C without reading A or B (cuBLAS's quick returns differ between versions)
    const TensorView c{g.c, g.dtype, {g.batch, g.m, g.n}, {g.stride_c, g.ldc, 1}};
    if (g.beta == 0.0) {
      kernels::fill(c, 0.0, current_stream());
    } else {
      kernels::unary(UnaryOp::AddScalar, c, c, g.beta, 0.0, current_stream());
    }
    return;
  }
  PEFTCPP_CUBLAS_CHECK(
      "matmul",
      cublasGemmStridedBatchedEx(cublas_handle(), g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                 g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, to_int(g.n, "n"), to_int(g.m, "m"),
                                 to_int(g.k, "k"), alpha, g.b, type, to_int(g.ldb, "ldb"), g.stride_b, g.a, type,
                                 to_int(g.lda, "lda"), g.stride_a, beta, g.c, type, to_int(g.ldc, "ldc"),
                                 g.stride_c, to_int(g.batch, "batch"), compute, CUBLAS_GEMM_DEFAULT));
}

}  // namespace peftcpp::cuda
