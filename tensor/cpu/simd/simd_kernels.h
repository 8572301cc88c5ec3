// Vectorised float32 kernels (exp, element-wise arithmetic, softmax rows) with runtime ISA
// dispatch. Internal to tensor/cpu.
//
// The AVX-512 and AVX2 tables live in their own static libraries compiled with -m flags
// (kernels_avx512.cpp, kernels_avx2.cpp); the rest of the library has no -march flags, and
// kernels() picks the best table the CPU supports (__builtin_cpu_supports). This header holds
// declarations only: an inline function here, compiled once with -mavx512f, could be chosen by
// the linker for every TU and crash CPUs without AVX-512.
//
// Numerics: exp is Cephes-style (n = round(x log2 e), r = x - n ln2 with a two-part ln 2, a
// degree-7 polynomial for exp(r) on [-ln2/2, ln2/2], then a scaling by 2^n that rounds subnormal
// results once): at most 1 ulp from the correctly rounded result, checked exhaustively over all
// float32 inputs for AVX-512 and AVX2 (0.5% of inputs are 1 ulp off). Softmax uses a cheaper exp
// for x - max <= 0 on AVX-512 (16-entry 2^(j/16) table + cubic; at most 2 ulp, also checked
// exhaustively), as PyTorch's softmax uses its exp_u20. Add/Sub/Mul/Div round exactly like the
// scalar loops (a + alpha * b is a multiply then an add, never an FMA: the ISA libraries are
// built with -ffp-contract=off).
#pragma once

#include <cstdint>

namespace peftcpp::cpu::simd {

enum class BinaryKind : int {
  Add,  // a + alpha * b
  Sub,  // a - alpha * b
  Mul,
  Div,
};

struct KernelTable {
  const char* isa;
  /// y[i] = exp(x[i]); x and y may alias exactly.
  void (*exp)(const float* x, float* y, std::int64_t n, bool nontemporal);
  /// y[i] = a[i * a_step] op b[i * b_step] with steps 0 (broadcast scalar) or 1.
  void (*binary)(
      BinaryKind kind,
      const float* a,
      std::int64_t a_step,
      const float* b,
      std::int64_t b_step,
      float* y,
      std::int64_t n,
      float alpha,
      bool nontemporal);
  /// Softmax (or log-softmax) of one contiguous row of n floats. `scratch` (n floats, or null)
  /// holds exp(x - max) between passes so that y is written once, with streaming stores when
  /// `nontemporal`; without scratch, y itself is the scratch. x and y may alias exactly.
  /// `next` (or null): the next row of n floats, prefetched while this one is computed.
  void (*softmax_row)(
      const float* x,
      float* y,
      std::int64_t n,
      bool log,
      bool nontemporal,
      float* scratch,
      const float* next);
  /// Max of a row and sum of exp(x - max) (the max is 0 for an all -inf row), in one pass.
  void (*row_max_sum_exp)(const float* x, std::int64_t n, float* max, float* sum);
  /// y[i] = exp(x[i] - shift) * scale for x[i] <= shift (cross-entropy's softmax from the row's
  /// log-sum-exp).
  void (*exp_shift_scale)(const float* x, float* y, std::int64_t n, float shift, float scale);
};

/// The best table for this CPU. PEFTCPP_SIMD=avx2 or PEFTCPP_SIMD=scalar in the environment
/// forces a lower level (for testing and benchmarking).
const KernelTable& kernels();
/// Tables by ISA; null when the CPU (or the build) lacks the instructions.
const KernelTable* avx512_table();
const KernelTable* avx2_table();
const KernelTable& scalar_table();

namespace detail {
// Defined in the per-ISA static libraries (data only, so referencing them runs no ISA code).
extern const KernelTable avx512_kernel_table;
extern const KernelTable avx2_kernel_table;
}  // namespace detail

/// Rows up to this many floats go through a scratch buffer (fits in L2); longer rows make an
/// online max/sum pass and a second pass that recomputes exp.
inline constexpr std::int64_t kSoftmaxScratchMax = std::int64_t{1} << 16;
/// Outputs of at least this many bytes are written with streaming stores: they cannot stay in
/// cache anyway, and streaming avoids reading each output line before overwriting it.
inline constexpr std::int64_t kNonTemporalBytes = std::int64_t{16} << 20;

}  // namespace peftcpp::cpu::simd
