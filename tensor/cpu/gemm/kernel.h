// The contract between the blocked sgemm driver (gemm.cpp, compiled for baseline x86-64) and the
// per-ISA kernels (kernel_avx512.cpp, kernel_avx2.cpp, kernel_generic.cpp, each compiled with its
// own -m flags in its own static library). Nothing here includes intrinsics.
//
// Micro-kernels read A and B through a PanelView, which covers both the packed layouts below
// and operands read in place ("direct"), when packing would cost more than it saves:
//   packed A block (mc x kc): ceil(mc/mr) micro-panels, each [kc][mr], zero-padded rows
//   packed B block (kc x nc): ceil(nc/nr) micro-panels, each [kc][nr], zero-padded columns
//   direct A: a transposed A stored [k][m] (its mr rows at one k are contiguous)
//   direct B: a non-transposed B stored [k][n] (its nr columns at one k are contiguous)
// Kernels never read past the valid rows of A (the M of a tile) nor the valid columns of B
// (masked loads), so direct views need no padding.
#pragma once

#include <cstdint>

namespace peftcpp::cpu::gemm_detail {

/// Packs op(A)[0:mc, 0:kc] into micro-panels of `mr` rows. `a` points at element (0,0) of the
/// block: A[row*lda + col] without trans_a, A[col*lda + row] with it.
using PackAFn =
    void (*)(bool trans_a, int64_t mc, int64_t kc, const float* a, int64_t lda, float* dst);
/// Packs op(B)[0:kc, 0:nc] into micro-panels of `nr` columns. `b` points at element (0,0):
/// B[row*ldb + col] without trans_b, B[col*ldb + row] with it.
using PackBFn =
    void (*)(bool trans_b, int64_t kc, int64_t nc, const float* b, int64_t ldb, float* dst);
/// Where a micro-kernel finds its operand. For A, element (row i of micro-panel t, depth p) is
/// data[t*panel_step + p*k_step + i]; for B, element (depth p, column j of micro-panel t) is
/// data[t*panel_step + p*k_step + j].
struct PanelView {
  const float* data;
  int64_t k_step;      // packed: mr (A) or nr (B); direct: the leading dimension
  int64_t panel_step;  // packed: mr*kc or nr*kc; direct: mr or nr
};

/// C[0:mc, 0:nc] = alpha * A @ B + beta * C over depth kc (beta == 0: C is not read).
/// Each element is one accumulator summed in k order, so tiling never changes results.
using MacroKernelFn = void (*)(
    int64_t mc,
    int64_t nc,
    int64_t kc,
    float alpha,
    PanelView a,
    PanelView b,
    float beta,
    float* c,
    int64_t ldc);

/// One register-blocked micro-kernel shape with its packing routines and cache blocking.
struct SgemmKernel {
  const char* name;
  int mr;       // rows of C per micro-tile (broadcast operand)
  int nr;       // columns of C per micro-tile (vector operand)
  int mc;       // rows of A packed per block (multiple of mr); the block stays in L2
  int kc;       // depth per block; the k loop is cut in near-equal chunks of at most kc
  int nc;       // columns of B packed per block (multiple of nr); the panel stays in L3
  bool direct;  // macro accepts direct (unpacked) views
  PackAFn pack_a;
  PackBFn pack_b;
  MacroKernelFn macro;
};

/// Provided by each ISA's static library. Only call after checking the CPU supports it.
const SgemmKernel& sgemm_kernel_avx512();
const SgemmKernel& sgemm_kernel_avx2();
const SgemmKernel& sgemm_kernel_generic();

}  // namespace peftcpp::cpu::gemm_detail
