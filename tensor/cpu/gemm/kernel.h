// The contract between the blocked sgemm driver (gemm.cpp, compiled for baseline x86-64) and the
// per-ISA kernels (kernel_avx512.cpp, kernel_avx2.cpp, kernel_generic.cpp, each compiled with its
// own -m flags in its own static library). Nothing here includes intrinsics.
//
// Packed layouts (both zero-padded to whole micro-panels, so micro-kernels never test bounds
// while reading them):
//   A block (mc x kc): ceil(mc/mr) micro-panels, each [kc][mr]   (panel i starts at i*mr*kc)
//   B block (kc x nc): ceil(nc/nr) micro-panels, each [kc][nr]   (panel j starts at j*nr*kc)
#pragma once

#include <cstdint>

namespace peftcpp::cpu::gemm_detail {

/// Packs op(A)[0:mc, 0:kc] into micro-panels of `mr` rows. `a` points at element (0,0) of the
/// block: A[row*lda + col] without trans_a, A[col*lda + row] with it.
using PackAFn = void (*)(bool trans_a, int64_t mc, int64_t kc, const float* a, int64_t lda,
                         float* dst);
/// Packs op(B)[0:kc, 0:nc] into micro-panels of `nr` columns. `b` points at element (0,0):
/// B[row*ldb + col] without trans_b, B[col*ldb + row] with it.
using PackBFn = void (*)(bool trans_b, int64_t kc, int64_t nc, const float* b, int64_t ldb,
                         float* dst);
/// C[0:mc, 0:nc] = alpha * packed_a @ packed_b + beta * C  (beta == 0: C is not read).
/// Each element is one accumulator summed in k order, so tiling never changes results.
using MacroKernelFn = void (*)(int64_t mc, int64_t nc, int64_t kc, float alpha,
                               const float* packed_a, const float* packed_b, float beta, float* c,
                               int64_t ldc);

/// One register-blocked micro-kernel shape with its packing routines and cache blocking.
struct SgemmKernel {
  const char* name;
  int mr;  // rows of C per micro-tile (broadcast operand)
  int nr;  // columns of C per micro-tile (vector operand)
  int mc;  // rows of A packed per block (multiple of mr); the block stays in L2
  int kc;  // depth per block; the k loop is cut in near-equal chunks of at most kc
  int nc;  // columns of B packed per block (multiple of nr); the panel stays in L3
  PackAFn pack_a;
  PackBFn pack_b;
  MacroKernelFn macro;
};

/// Provided by each ISA's static library. Only call after checking the CPU supports it.
const SgemmKernel& sgemm_kernel_avx512();
const SgemmKernel& sgemm_kernel_avx2();
const SgemmKernel& sgemm_kernel_generic();

}  // namespace peftcpp::cpu::gemm_detail
