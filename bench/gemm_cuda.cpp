// bench/gemm --device cuda: GFLOP/s of peftcpp's matmul on CUDA tensors next to the raw cuBLAS
// call (cublasGemmEx on the same operands, same stream, same math mode), float32 (TF32 off, as
// peftcpp's default) and bfloat16 (float32 compute). Shapes: 4096^3 and the LLaMA-7B projections
// at 4096 tokens (q/k/v/o 4096x4096x4096, gate/up 4096x4096x11008, down 4096x11008x4096).
// Timed with CUDA events over --reps calls after warm-up; the target is within 3% of raw.
// Built only with the CUDA backend; not yet run on a GPU.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cuda/context.h"
#include "cuda/cuda.h"
#include "tensor/ops.h"

namespace {

using peftcpp::Tensor;

void check(cudaError_t st, const char* what) {
  if (st != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(st));
}
void check(cublasStatus_t st, const char* what) {
  if (st != CUBLAS_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + ": " + cublasGetStatusString(st));
}

// Milliseconds per call of `fn` on the backend's stream.
template <class F>
double time_ms(int reps, F&& fn) {
  cudaStream_t s = peftcpp::cuda::current_stream();
  for (int i = 0; i < 3; ++i) fn();
  cudaEvent_t a, b;
  check(cudaEventCreate(&a), "cudaEventCreate");
  check(cudaEventCreate(&b), "cudaEventCreate");
  check(cudaEventRecord(a, s), "cudaEventRecord");
  for (int i = 0; i < reps; ++i) fn();
  check(cudaEventRecord(b, s), "cudaEventRecord");
  check(cudaEventSynchronize(b), "cudaEventSynchronize");
  float ms = 0;
  check(cudaEventElapsedTime(&ms, a, b), "cudaEventElapsedTime");
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return static_cast<double>(ms) / reps;
}

}  // namespace

int run_cuda_gemm_bench(int reps, const std::vector<std::string>& only) {
  if (!peftcpp::cuda::is_available()) {
    std::fprintf(stderr, "gemm: --device cuda: %s\n", peftcpp::cuda::unavailable_reason().c_str());
    return 2;
  }
  struct S {
    long long m, k, n;
  };
  const S shapes[] = {{4096, 4096, 4096}, {4096, 4096, 11008}, {4096, 11008, 4096}};
  cublasHandle_t raw = nullptr;
  check(cublasCreate(&raw), "cublasCreate");
  check(cublasSetStream(raw, peftcpp::cuda::current_stream()), "cublasSetStream");
  check(cublasSetMathMode(raw, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");  // no TF32, as peftcpp
  for (const peftcpp::DType dt : {peftcpp::kFloat32, peftcpp::kBFloat16}) {
    const bool bf16 = dt == peftcpp::kBFloat16;
    for (const S& s : shapes) {
      const std::string name = std::to_string(s.m) + "x" + std::to_string(s.k) + "x" + std::to_string(s.n);
      if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) continue;
      const Tensor a = peftcpp::randn({s.m, s.k}, dt, nullptr, peftcpp::kCUDA);
      const Tensor b = peftcpp::randn({s.k, s.n}, dt, nullptr, peftcpp::kCUDA);
      Tensor c = peftcpp::empty({s.m, s.n}, dt, peftcpp::kCUDA);
      const double ours = time_ms(reps, [&] { c = peftcpp::matmul(a, b); });
      const float one = 1.0f, zero = 0.0f;
      const cudaDataType t = bf16 ? CUDA_R_16BF : CUDA_R_32F;
      // row-major C = A B as column-major C^T = B^T A^T
      const double theirs = time_ms(reps, [&] {
        check(cublasGemmEx(raw, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(s.n), static_cast<int>(s.m),
                           static_cast<int>(s.k), &one, b.raw_data(), t, static_cast<int>(s.n), a.raw_data(), t,
                           static_cast<int>(s.k), &zero, c.raw_data(), t, static_cast<int>(s.n), CUBLAS_COMPUTE_32F,
                           CUBLAS_GEMM_DEFAULT),
              "cublasGemmEx");
      });
      const double gflop = 2.0 * static_cast<double>(s.m) * static_cast<double>(s.k) * static_cast<double>(s.n) * 1e-9;
      std::printf("gemm %s %s peftcpp %.1f GFLOP/s cublas %.1f GFLOP/s ratio %.3f\n", name.c_str(),
                  bf16 ? "bf16" : "fp32", gflop / (ours * 1e-3), gflop / (theirs * 1e-3), theirs / ours);
      std::fflush(stdout);
    }
  }
  cublasDestroy(raw);
  return 0;
}
