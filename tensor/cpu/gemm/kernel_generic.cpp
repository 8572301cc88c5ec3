// Portable sgemm kernel for CPUs without AVX2/FMA: 4x8 tile of plain floats that the compiler
// vectorizes with the baseline ISA (SSE2 on x86-64). Separate multiply and add (no std::fma,
// which is a slow library call without hardware FMA), so results may differ from the FMA kernels
// in the last bits; they still do not depend on the thread count.
#include <algorithm>

#include "tensor/cpu/gemm/kernel.h"
#include "tensor/cpu/gemm/pack_scalar.h"

namespace peftcpp::cpu::gemm_detail {
namespace {

constexpr int kMr = 4;
constexpr int kNr = 8;

// Reads only packed (zero-padded) panels: the kernel declares direct = false.
void micro_tile(
    int64_t kc,
    const float* __restrict pa,
    const float* __restrict pb,
    float alpha,
    float beta,
    float* c,
    int64_t ldc,
    int64_t mr,
    int64_t nr) {
  float acc[kMr][kNr] = {};
  for (int64_t p = 0; p < kc; ++p) {
    for (int i = 0; i < kMr; ++i) {
      const float av = pa[i];
      for (int j = 0; j < kNr; ++j) acc[i][j] += av * pb[j];
    }
    pa += kMr;
    pb += kNr;
  }
  for (int64_t i = 0; i < mr; ++i) {
    float* row = c + i * ldc;
    for (int64_t j = 0; j < nr; ++j) {
      const float t = alpha * acc[i][j];
      row[j] = beta != 0.0f ? beta * row[j] + t : t;
    }
  }
}

void macro_kernel(
    int64_t mc,
    int64_t nc,
    int64_t kc,
    float alpha,
    PanelView a,
    PanelView b,
    float beta,
    float* c,
    int64_t ldc) {
  for (int64_t jr = 0; jr < nc; jr += kNr) {
    const int64_t nr = std::min<int64_t>(kNr, nc - jr);
    const float* pb = b.data + (jr / kNr) * b.panel_step;
    for (int64_t ir = 0; ir < mc; ir += kMr) {
      const int64_t mr = std::min<int64_t>(kMr, mc - ir);
      micro_tile(
          kc, a.data + (ir / kMr) * a.panel_step, pb, alpha, beta, c + ir * ldc + jr, ldc, mr, nr);
    }
  }
}

}  // namespace

const SgemmKernel& sgemm_kernel_generic() {
  static const SgemmKernel kernel{
      "generic",
      kMr,
      kNr,
      128,
      256,
      2048,
      false,
      &pack_a_scalar<kMr>,
      &pack_b_scalar<kNr>,
      &macro_kernel};
  return kernel;
}

}  // namespace peftcpp::cpu::gemm_detail
