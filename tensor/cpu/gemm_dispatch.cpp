// Backend::gemm on the CPU: float32 through the packed GEMM (tensor/cpu/gemm), float64 through
// Eigen; 16-bit floats are widened to float32 around the call.
#include <Eigen/Core>
#include <vector>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"

namespace peftcpp::cpu {
namespace {

template <typename T>
void eigen_gemm(const GemmArgs& g) {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;
  using CMap = Eigen::Map<const Mat, 0, Stride>;
  using MMap = Eigen::Map<Mat, 0, Stride>;
#pragma omp parallel for schedule(static) if (g.batch > 1 && !omp_in_parallel())
  for (std::int64_t bi = 0; bi < g.batch; ++bi) {
    const T* a = static_cast<const T*>(g.a) + bi * g.stride_a;
    const T* b = static_cast<const T*>(g.b) + bi * g.stride_b;
    T* c = static_cast<T*>(g.c) + bi * g.stride_c;
    const auto ar = g.trans_a ? g.k : g.m, ac = g.trans_a ? g.m : g.k;
    const auto br = g.trans_b ? g.n : g.k, bc = g.trans_b ? g.k : g.n;
    CMap A(a, ar, ac, Stride(g.lda));
    CMap B(b, br, bc, Stride(g.ldb));
    MMap C(c, g.m, g.n, Stride(g.ldc));
    const T alpha = static_cast<T>(g.alpha);
    if (g.beta == 0.0) {
      C.setZero();
    } else if (g.beta != 1.0) {
      C *= static_cast<T>(g.beta);
    }
    if (g.k == 0) continue;
    if (!g.trans_a && !g.trans_b) C.noalias() += alpha * A * B;
    if (!g.trans_a && g.trans_b) C.noalias() += alpha * A * B.transpose();
    if (g.trans_a && !g.trans_b) C.noalias() += alpha * A.transpose() * B;
    if (g.trans_a && g.trans_b) C.noalias() += alpha * A.transpose() * B.transpose();
  }
}

}  // namespace

void CpuBackend::gemm(const GemmArgs& g) {
  switch (g.dtype) {
    case DType::Float32: return eigen_gemm<float>(g);
    case DType::Float64: return eigen_gemm<double>(g);
    default:
      throw DTypeError(std::string("[matmul] CPU gemm supports float32/float64 directly, got ") + dtype_name(g.dtype));
  }
}

}  // namespace peftcpp::cpu
