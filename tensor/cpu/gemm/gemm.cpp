// float32 GEMM driver of the CPU backend: argument checks, kernel dispatch, threading, blocking.
//
// Design (GotoBLAS/BLIS structure; the kernels live in kernel_<isa>.cpp, the contract in kernel.h)
//
// Micro-kernels. A register tile of C is mr x nr independent accumulators, each one FMA chain
// over k in order. B supplies nr/16 vectors per k, A supplies mr broadcasts:
//   avx512  12x32: 24 zmm accumulators + 2 B vectors + 1 broadcast of the 32 zmm registers.
//   avx2     6x16: 12 ymm accumulators + 2 B vectors + 1 broadcast of the 16 ymm registers.
//   generic  4x8:  plain floats the compiler vectorizes with SSE2 (4x16 spilled: 4x slower).
// Edge tiles run the same code instantiated for fewer rows with a masked last vector, so a
// ragged edge costs what it computes. On the development host (2 cores reported as AMD family
// 25, AVX-512 executed as 2x256 bit, ~117 GFLOP/s per core) the avx512 macro-kernel sustains
// 114-117 GFLOP/s per core on packed blocks in cache.
//
// Packing. Per k chunk, a kc x nc panel of op(B) is packed into nr-wide micro-panels, and per
// mc rows an mc x kc block of op(A) into mr-tall ones: contiguous, 64-byte aligned, zero padded,
// in grow-only thread-local buffers (no allocation once warm). Transposed sources are packed with
// in-register 16x16 transposes; contiguous ones are copied 8 rows at a time across all panels so
// even large power-of-two leading dimensions are read in long runs. Packing costs one read and
// one write per element, which only pays off when the panel is re-read: an operand that at most
// 2 micro-tiles would read (LoRA shapes: a 16-row or 16-column output) is read in place when its
// layout allows (A stored [k][m], B stored [k][n]), with software prefetch 4 k-steps ahead
// because strides of a page or more defeat the hardware prefetchers. Packing copies exactly,
// so this choice never changes results.
//
// Blocking (avx512; L1d 32-48 KiB, L2 1 MiB per core, L3 32 MiB shared):
//   kc = 512: k is cut into ceil(k/512) near-equal chunks (k = 1376 -> 3 x 458/459), whose
//     boundaries depend on k only. Each chunk re-reads and re-writes C once, so fewer chunks is
//     better; measured best-of-4 on 1024-class shapes: kc 512 ~ 214-218, 384 ~ 212, 256 ~ 204
//     GFLOP/s with 2 threads. The micro-panels (A 12 x 512 = 24 KiB, B 512 x 32 = 64 KiB) then
//     stream from L2 at ~7 bytes per cycle (176 B per 24 FMAs), well within L2 bandwidth.
//   mc = 192: the packed A block (192 x 512 x 4 B = 384 KiB) stays in L2 next to the B
//     micro-panel; 96-384 measured within noise, 192 keeps half of L2 free.
//   nc = 2048: the packed B panel (512 x 2048 x 4 B = 4 MiB per thread) stays in L3; it only
//     matters for n > 2048 (the 32000-vocabulary products), where A is re-packed n/nc times.
//
// Threads. C is split into a tm x tn grid of regions, tm * tn = threads, minimising the largest
// region in micro-tiles (ties split rows). Skinny outputs split along their long side (1024x16
// by rows, 16x512 by columns), so every thread has work. Each thread runs the whole blocked
// algorithm on its region with its own packing: no barriers, and re-packing the shared operand
// costs ~2/m_region of the work (< 1% on the benchmark shapes). k is never split and every
// element is accumulated by the same instructions in the same order whatever the grid, so results
// are bitwise identical for any thread count (tests/tensor/cpu/gemm_kernels_test.cpp).
//
// Dispatch. avx512 needs avx512f + avx512dq + fma, avx2 needs avx2 + fma (__builtin_cpu_supports,
// checked once); each lives in a static library built with its own -m flags, and this file is
// compiled for baseline x86-64.
#include "tensor/cpu/gemm/gemm.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <exception>

#include "tensor/cpu/gemm/gemm_args.h"
#include "tensor/cpu/gemm/kernel.h"
#include "tensor/cpu/gemm/pack_buffer.h"
#include "tensor/error.h"

// The AVX2/AVX-512 kernel libraries are only built for x86-64 (tensor/cpu/meson.build).
#if defined(__x86_64__)
#define PEFTCPP_GEMM_X86 1
#else
#define PEFTCPP_GEMM_X86 0
#endif

namespace peftcpp::cpu {
namespace {

using gemm_detail::PanelView;
using gemm_detail::SgemmKernel;

// Each thread needs this many flops (2*m*n*k) of work: on the 2-core host, 2 threads lose below
// ~130 kflop (16x64x32: 50 vs 90 GFLOP/s), break even near it and win from ~260 kflop
// (64x64x64: 130 vs 97 GFLOP/s).
constexpr double kMinFlopsPerThread = 1 << 17;
// Batched products smaller than this run one matrix per thread instead of splitting each one.
constexpr double kMinFlopsToSplitOneMatrix = 1 << 22;

// Operands re-read by at most this many micro-tiles are read in place rather than packed.
constexpr int64_t kDirectMaxTiles = 2;

std::atomic<int> g_num_threads{0};  // 0: not set, use omp_get_max_threads()

const SgemmKernel& kernel_of(SgemmKernelKind kind) {
#if PEFTCPP_GEMM_X86
  switch (kind) {
    case SgemmKernelKind::Avx512:
      return gemm_detail::sgemm_kernel_avx512();
    case SgemmKernelKind::Avx2:
      return gemm_detail::sgemm_kernel_avx2();
    case SgemmKernelKind::Generic:
      break;
  }
#else
  (void)kind;
#endif
  return gemm_detail::sgemm_kernel_generic();
}

// Without touching the kernel library, whose code may not run on this CPU.
const char* kind_name(SgemmKernelKind kind) {
  switch (kind) {
    case SgemmKernelKind::Avx512:
      return "avx512";
    case SgemmKernelKind::Avx2:
      return "avx2";
    case SgemmKernelKind::Generic:
      break;
  }
  return "generic";
}

const SgemmKernel& best_kernel() {
  static const SgemmKernel& kernel =
      sgemm_kernel_supported(SgemmKernelKind::Avx512) ? kernel_of(SgemmKernelKind::Avx512)
      : sgemm_kernel_supported(SgemmKernelKind::Avx2) ? kernel_of(SgemmKernelKind::Avx2)
                                                      : kernel_of(SgemmKernelKind::Generic);
  return kernel;
}

// C = beta * C without reading C when beta == 0 (used when there is nothing to multiply).
void scale_c(int64_t m, int64_t n, float beta, float* c, int64_t ldc) {
  if (beta == 1.0f)
    return;
  for (int64_t i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    if (beta == 0.0f) {
      std::fill(row, row + n, 0.0f);
    } else {
      for (int64_t j = 0; j < n; ++j) row[j] *= beta;
    }
  }
}

// One thread's share: the whole blocked GEMM on C[0:m, 0:n] (pointers already offset).
void gemm_region(
    const SgemmKernel& kn,
    bool trans_a,
    bool trans_b,
    int64_t m,
    int64_t n,
    int64_t k,
    float alpha,
    const float* a,
    int64_t lda,
    const float* b,
    int64_t ldb,
    float beta,
    float* c,
    int64_t ldc) {
  // k is cut into near-equal chunks at positions that depend on k only (never on threads).
  const int64_t k_chunks = (k + kn.kc - 1) / kn.kc;
  const int64_t kc_max = (k + k_chunks - 1) / k_chunks;
  // A packed panel pays for its copy by being re-read: A's panel once per column tile, B's once
  // per row tile. With too few re-reads, a transposed A ([k][m]) or a plain B ([k][n]) is read
  // in place instead (packing is an exact copy, so this never changes results).
  const bool direct_a = kn.direct && trans_a && n <= kDirectMaxTiles * kn.nr;
  const bool direct_b = kn.direct && !trans_b && m <= kDirectMaxTiles * kn.mr;
  // Blocks are whole micro-panels, so the packed sizes below bound what pack_a/pack_b write.
  const int64_t mc_block = std::max<int64_t>(1, kn.mc / kn.mr) * kn.mr;
  const int64_t nc_block = std::max<int64_t>(1, kn.nc / kn.nr) * kn.nr;
  const int64_t mc_max = std::min<int64_t>(mc_block, (m + kn.mr - 1) / kn.mr * kn.mr);
  const int64_t nc_max = std::min<int64_t>(nc_block, (n + kn.nr - 1) / kn.nr * kn.nr);
  float* packed_a = direct_a ? nullptr : gemm_detail::thread_pack_buffer(0, mc_max * kc_max);
  float* packed_b = direct_b ? nullptr : gemm_detail::thread_pack_buffer(1, kc_max * nc_max);
  for (int64_t jc = 0; jc < n; jc += nc_block) {
    const int64_t nc = std::min<int64_t>(nc_block, n - jc);
    for (int64_t chunk = 0; chunk < k_chunks; ++chunk) {
      const int64_t p0 = k * chunk / k_chunks;
      const int64_t kc = k * (chunk + 1) / k_chunks - p0;
      const float beta_chunk = chunk == 0 ? beta : 1.0f;
      PanelView bv{packed_b, kn.nr, kn.nr * kc};
      if (direct_b) {
        bv = {b + p0 * ldb + jc, ldb, kn.nr};
      } else {
        kn.pack_b(trans_b, kc, nc, trans_b ? b + jc * ldb + p0 : b + p0 * ldb + jc, ldb, packed_b);
      }
      for (int64_t ic = 0; ic < m; ic += mc_block) {
        const int64_t mc = std::min<int64_t>(mc_block, m - ic);
        PanelView av{packed_a, kn.mr, kn.mr * kc};
        if (direct_a) {
          av = {a + p0 * lda + ic, lda, kn.mr};
        } else {
          kn.pack_a(
              trans_a, mc, kc, trans_a ? a + p0 * lda + ic : a + ic * lda + p0, lda, packed_a);
        }
        kn.macro(mc, nc, kc, alpha, av, bv, beta_chunk, c + ic * ldc + jc, ldc);
      }
    }
  }
}

// How many threads a product is worth, capped by gemm_num_threads() and by the tile count.
int threads_for(const SgemmKernel& kn, int64_t m, int64_t n, int64_t k) {
  if (omp_in_parallel())
    return 1;
  const double flops =
      2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const int64_t tiles = ((m + kn.mr - 1) / kn.mr) * ((n + kn.nr - 1) / kn.nr);
  const int64_t by_work = static_cast<int64_t>(flops / kMinFlopsPerThread);
  return static_cast<int>(
      std::max<int64_t>(1, std::min<int64_t>({gemm_num_threads(), by_work, tiles})));
}

// Splits C into a tm x tn grid of thread regions (tm * tn == threads) minimising the largest
// region in micro-tiles; ties go to splitting rows (each thread then packs less of A and B).
void choose_grid(const SgemmKernel& kn, int64_t m, int64_t n, int threads, int* tm, int* tn) {
  const int64_t tiles_m = (m + kn.mr - 1) / kn.mr;
  const int64_t tiles_n = (n + kn.nr - 1) / kn.nr;
  int64_t best = -1;
  for (int rows = threads; rows >= 1; --rows) {
    if (threads % rows != 0)
      continue;
    const int cols = threads / rows;
    const int64_t cost = ((tiles_m + rows - 1) / rows) * ((tiles_n + cols - 1) / cols);
    if (best < 0 || cost < best) {
      best = cost;
      *tm = rows;
      *tn = cols;
    }
  }
}

void sgemm_threads(
    const SgemmKernel& kn,
    int threads,
    bool trans_a,
    bool trans_b,
    int64_t m,
    int64_t n,
    int64_t k,
    float alpha,
    const float* a,
    int64_t lda,
    const float* b,
    int64_t ldb,
    float beta,
    float* c,
    int64_t ldc) {
  if (m == 0 || n == 0)
    return;
  if (k == 0 || alpha == 0.0f) {
    scale_c(m, n, beta, c, ldc);
    return;
  }
  if (threads <= 1) {
    gemm_region(kn, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  int tm = 1, tn = 1;
  choose_grid(kn, m, n, threads, &tm, &tn);
  const int64_t tiles_m = (m + kn.mr - 1) / kn.mr;
  const int64_t tiles_n = (n + kn.nr - 1) / kn.nr;
  std::exception_ptr error;
#pragma omp parallel num_threads(threads)
  {
    const int team = omp_get_num_threads();
    for (int r = omp_get_thread_num(); r < tm * tn; r += team) {
      const int64_t m0 = std::min(m, tiles_m * (r / tn) / tm * kn.mr);
      const int64_t m1 = std::min(m, tiles_m * (r / tn + 1) / tm * kn.mr);
      const int64_t n0 = std::min(n, tiles_n * (r % tn) / tn * kn.nr);
      const int64_t n1 = std::min(n, tiles_n * (r % tn + 1) / tn * kn.nr);
      if (m0 >= m1 || n0 >= n1)
        continue;
      try {
        gemm_region(
            kn,
            trans_a,
            trans_b,
            m1 - m0,
            n1 - n0,
            k,
            alpha,
            trans_a ? a + m0 : a + m0 * lda,
            lda,
            trans_b ? b + n0 * ldb : b + n0,
            ldb,
            beta,
            c + m0 * ldc + n0,
            ldc);
      } catch (...) {
#pragma omp critical(peftcpp_sgemm_error)
        error = std::current_exception();
      }
    }
  }
  if (error)
    std::rethrow_exception(error);
}

}  // namespace

int gemm_num_threads() {
  const int n = g_num_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : omp_get_max_threads();
}

void set_gemm_num_threads(int num_threads) {
  PEFTCPP_CHECK(
      num_threads >= 1, "[set_gemm_num_threads] num_threads must be >= 1, got ", num_threads);
  g_num_threads.store(num_threads, std::memory_order_relaxed);
}

bool sgemm_kernel_supported(SgemmKernelKind kind) {
#if !PEFTCPP_GEMM_X86
  return kind == SgemmKernelKind::Generic;
#else
  switch (kind) {
    case SgemmKernelKind::Avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("fma");
    case SgemmKernelKind::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SgemmKernelKind::Generic:
      return true;
  }
  return false;
#endif
}

const char* sgemm_kernel_name() {
  return best_kernel().name;
}

void sgemm(
    bool trans_a,
    bool trans_b,
    int64_t m,
    int64_t n,
    int64_t k,
    float alpha,
    const float* a,
    int64_t lda,
    const float* b,
    int64_t ldb,
    float beta,
    float* c,
    int64_t ldc) {
  gemm_detail::check_gemm_args("sgemm", trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
  const SgemmKernel& kn = best_kernel();
  sgemm_threads(
      kn, threads_for(kn, m, n, k), trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void sgemm_with_kernel(
    SgemmKernelKind kind,
    bool trans_a,
    bool trans_b,
    int64_t m,
    int64_t n,
    int64_t k,
    float alpha,
    const float* a,
    int64_t lda,
    const float* b,
    int64_t ldb,
    float beta,
    float* c,
    int64_t ldc) {
  PEFTCPP_CHECK(
      sgemm_kernel_supported(kind),
      "[sgemm_with_kernel] kernel ",
      kind_name(kind),
      " is not supported by this CPU");
  gemm_detail::check_gemm_args("sgemm", trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
  const SgemmKernel& kn = kernel_of(kind);
  sgemm_threads(
      kn, threads_for(kn, m, n, k), trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void sgemm_strided_batched(
    bool trans_a,
    bool trans_b,
    int64_t m,
    int64_t n,
    int64_t k,
    float alpha,
    const float* a,
    int64_t lda,
    const float* b,
    int64_t ldb,
    float beta,
    float* c,
    int64_t ldc,
    int64_t batch,
    int64_t stride_a,
    int64_t stride_b,
    int64_t stride_c) {
  PEFTCPP_CHECK(batch >= 0, "[sgemm_strided_batched] batch must be non-negative, got ", batch);
  gemm_detail::check_gemm_args(
      "sgemm_strided_batched", trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
  if (batch == 0)
    return;
  const SgemmKernel& kn = best_kernel();
  const double flops =
      2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const int threads = omp_in_parallel() ? 1 : gemm_num_threads();
  if (batch < threads || threads == 1 || flops >= kMinFlopsToSplitOneMatrix) {
    for (int64_t i = 0; i < batch; ++i) {
      sgemm_threads(
          kn,
          threads_for(kn, m, n, k),
          trans_a,
          trans_b,
          m,
          n,
          k,
          alpha,
          gemm_detail::batch_offset(a, i, stride_a),
          lda,
          gemm_detail::batch_offset(b, i, stride_b),
          ldb,
          beta,
          gemm_detail::batch_offset(c, i, stride_c),
          ldc);
    }
    return;
  }
  // Small matrices: one whole matrix per thread. Each matrix is computed exactly as the
  // single-threaded sgemm would, so results still do not depend on the thread count.
  std::exception_ptr error;
  const bool worth_threads = flops * static_cast<double>(batch) >= 2 * kMinFlopsPerThread;
#pragma omp parallel for schedule(static) num_threads(threads) if (worth_threads)
  for (int64_t i = 0; i < batch; ++i) {
    try {
      sgemm_threads(
          kn,
          1,
          trans_a,
          trans_b,
          m,
          n,
          k,
          alpha,
          gemm_detail::batch_offset(a, i, stride_a),
          lda,
          gemm_detail::batch_offset(b, i, stride_b),
          ldb,
          beta,
          gemm_detail::batch_offset(c, i, stride_c),
          ldc);
    } catch (...) {
#pragma omp critical(peftcpp_sgemm_error)
      error = std::current_exception();
    }
  }
  if (error)
    std::rethrow_exception(error);
}

}  // namespace peftcpp::cpu
