// Each compiled sgemm kernel run explicitly, thread-count independence, strided batches,
// dgemm (Eigen) and the reusable pack buffers.
#include <doctest/doctest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "tensor/cpu/gemm/gemm.h"
#include "tensor/cpu/gemm/pack_buffer.h"
#include "tensor/error.h"
#include "tests/tensor/cpu/gemm_reference.h"

namespace peftcpp::cpu {
namespace {

using testing::GemmCase;
using testing::GemmOperands;
using testing::GemmThreadsGuard;
using testing::run_sgemm_case;

constexpr bool kTrans[] = {false, true};
constexpr SgemmKernelKind kKinds[] = {
    SgemmKernelKind::Generic, SgemmKernelKind::Avx2, SgemmKernelKind::Avx512};
const char* const kKindNames[] = {"generic", "avx2", "avx512"};

TEST_CASE("every sgemm kernel the CPU supports matches the reference") {
  // Sizes around each kernel's tile (4x8, 6x16, 12x32) and blocks, padded, with beta.
  const int64_t shapes[][3] = {
      {1, 1, 1},
      {5, 17, 3},
      {13, 33, 300},
      {25, 31, 513},
      {97, 65, 64},
      {211, 129, 7},
      {6, 2050, 40},
      {300, 48, 777}};
  for (int kind_index = 0; kind_index < 3; ++kind_index) {
    const SgemmKernelKind kind = kKinds[kind_index];
    CAPTURE(kKindNames[kind_index]);
    if (!sgemm_kernel_supported(kind)) {
      MESSAGE("skipping the ", kKindNames[kind_index], " kernel: this CPU lacks it");
      std::vector<float> x(4, 1.0f), y(4);
      CHECK_THROWS_AS(
          sgemm_with_kernel(
              kind, false, false, 2, 2, 2, 1.0f, x.data(), 2, x.data(), 2, 0.0f, y.data(), 2),
          ValueError);
      continue;
    }
    uint32_t seed = 1000;
    for (bool ta : kTrans) {
      for (bool tb : kTrans) {
        for (const auto& s : shapes) {
          GemmCase g;
          g.trans_a = ta;
          g.trans_b = tb;
          g.m = s[0];
          g.n = s[1];
          g.k = s[2];
          g.pad_a = 3;
          g.pad_c = 1;
          g.alpha = 1.5;
          g.beta = seed % 2 == 0 ? 0.0 : -0.25;
          CAPTURE(ta);
          CAPTURE(tb);
          CAPTURE(g.m);
          CAPTURE(g.n);
          CAPTURE(g.k);
          CHECK(run_sgemm_case(g, seed++, &kind) == 0);
        }
      }
    }
  }
}

// C from sgemm (dispatched, or one kernel) with `threads` GEMM threads.
std::vector<float> sgemm_result(
    const GemmCase& g, const GemmOperands<float>& in, int threads, const SgemmKernelKind* kind) {
  set_gemm_num_threads(threads);
  std::vector<float> c = in.c;
  const auto alpha = static_cast<float>(g.alpha), beta = static_cast<float>(g.beta);
  if (kind != nullptr) {
    sgemm_with_kernel(
        *kind,
        g.trans_a,
        g.trans_b,
        g.m,
        g.n,
        g.k,
        alpha,
        in.a.data(),
        g.lda(),
        in.b.data(),
        g.ldb(),
        beta,
        c.data(),
        g.ldc());
  } else {
    sgemm(
        g.trans_a,
        g.trans_b,
        g.m,
        g.n,
        g.k,
        alpha,
        in.a.data(),
        g.lda(),
        in.b.data(),
        g.ldb(),
        beta,
        c.data(),
        g.ldc());
  }
  return c;
}

TEST_CASE("sgemm results are bitwise identical for 1, 2 and 3 threads") {
  GemmThreadsGuard guard;
  // Square, skinny outputs (1024x16, 16x512) split across threads, and k cut into chunks.
  const int64_t shapes[][3] = {
      {256, 256, 700}, {1024, 16, 512}, {16, 512, 1024}, {300, 1000, 16}, {1000, 45, 1300}};
  uint32_t seed = 2000;
  for (const auto& s : shapes) {
    for (bool ta : kTrans) {
      GemmCase g;
      g.trans_a = ta;
      g.trans_b = !ta;
      g.m = s[0];
      g.n = s[1];
      g.k = s[2];
      g.beta = 0.5;
      CAPTURE(g.m);
      CAPTURE(g.n);
      CAPTURE(g.k);
      GemmOperands<float> in(g, seed++);
      for (int kind_index = 0; kind_index < 3; ++kind_index) {
        const SgemmKernelKind kind = kKinds[kind_index];
        if (!sgemm_kernel_supported(kind))
          continue;
        CAPTURE(kKindNames[kind_index]);
        const std::vector<float> one = sgemm_result(g, in, 1, &kind);
        for (int threads : {2, 3}) {
          const std::vector<float> many = sgemm_result(g, in, threads, &kind);
          CHECK(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)) == 0);
        }
      }
      const std::vector<float> one = sgemm_result(g, in, 1, nullptr);
      CHECK(testing::check_against_reference(g, in, one) == 0);
      const std::vector<float> two = sgemm_result(g, in, 2, nullptr);
      CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("set_gemm_num_threads rejects counts below one") {
  GemmThreadsGuard guard;
  CHECK_THROWS_AS(set_gemm_num_threads(0), ValueError);
  CHECK_THROWS_AS(set_gemm_num_threads(-3), ValueError);
  set_gemm_num_threads(3);
  CHECK(gemm_num_threads() == 3);
}

// Runs a strided batch and checks every matrix against the reference (padding between matrices
// must stay untouched) and against the single-threaded result bitwise.
void check_sgemm_batch(const GemmCase& g, int64_t batch) {
  GemmThreadsGuard guard;
  const int64_t gap = 5;  // elements between consecutive matrices
  const int64_t sa = g.a_rows() * g.lda() + gap, sb = g.b_rows() * g.ldb() + gap;
  const int64_t sc = g.m * g.ldc() + gap;
  std::vector<GemmOperands<float>> ins;
  std::vector<float> a(static_cast<size_t>(sa * batch)), b(static_cast<size_t>(sb * batch));
  std::vector<float> c(static_cast<size_t>(sc * batch), 99.0f);
  for (int64_t i = 0; i < batch; ++i) {
    ins.emplace_back(g, static_cast<uint32_t>(3000 + i));
    std::copy(ins[i].a.begin(), ins[i].a.end(), a.begin() + i * sa);
    std::copy(ins[i].b.begin(), ins[i].b.end(), b.begin() + i * sb);
    std::copy(ins[i].c.begin(), ins[i].c.end(), c.begin() + i * sc);
  }
  std::vector<float> c_one = c;
  set_gemm_num_threads(1);
  sgemm_strided_batched(
      g.trans_a,
      g.trans_b,
      g.m,
      g.n,
      g.k,
      static_cast<float>(g.alpha),
      a.data(),
      g.lda(),
      b.data(),
      g.ldb(),
      static_cast<float>(g.beta),
      c_one.data(),
      g.ldc(),
      batch,
      sa,
      sb,
      sc);
  set_gemm_num_threads(2);
  sgemm_strided_batched(
      g.trans_a,
      g.trans_b,
      g.m,
      g.n,
      g.k,
      static_cast<float>(g.alpha),
      a.data(),
      g.lda(),
      b.data(),
      g.ldb(),
      static_cast<float>(g.beta),
      c.data(),
      g.ldc(),
      batch,
      sa,
      sb,
      sc);
  CHECK(std::memcmp(c.data(), c_one.data(), c.size() * sizeof(float)) == 0);
  for (int64_t i = 0; i < batch; ++i) {
    CAPTURE(i);
    const std::vector<float> ci(c.begin() + i * sc, c.begin() + i * sc + g.m * g.ldc());
    CHECK(testing::check_against_reference(g, ins[i], ci) == 0);
    for (int64_t j = g.m * g.ldc(); j < sc; ++j) CHECK(c[static_cast<size_t>(i * sc + j)] == 99.0f);
  }
}

TEST_CASE("sgemm_strided_batched matches per-matrix references for small and large matrices") {
  GemmCase small;  // one matrix per thread
  small.m = 33;
  small.n = 20;
  small.k = 64;
  small.trans_b = true;
  small.beta = 0.5;
  check_sgemm_batch(small, 7);
  GemmCase large;  // each matrix split across threads
  large.m = 130;
  large.n = 150;
  large.k = 260;
  large.trans_a = true;
  check_sgemm_batch(large, 3);
  GemmCase empty = small;
  empty.k = 0;
  empty.pad_a = 1;  // leading dimensions must stay >= 1
  empty.pad_b = 1;
  check_sgemm_batch(empty, 2);
  std::vector<float> x(4);
  sgemm_strided_batched(
      false,
      false,
      2,
      2,
      2,
      1.0f,
      x.data(),
      2,
      x.data(),
      2,
      0.0f,
      x.data(),
      2,
      0,
      4,
      4,
      4);  // batch 0: nothing to do
  CHECK_THROWS_AS(
      sgemm_strided_batched(
          false, false, 2, 2, 2, 1.0f, x.data(), 2, x.data(), 2, 0.0f, x.data(), 2, -1, 4, 4, 4),
      ValueError);
}

// dgemm on a GemmCase, checked against a long double reference.
int64_t run_dgemm_case(const GemmCase& g, uint32_t seed) {
  GemmOperands<double> in(g, seed);
  std::vector<double> c = in.c;
  dgemm(
      g.trans_a,
      g.trans_b,
      g.m,
      g.n,
      g.k,
      g.alpha,
      in.a.data(),
      g.lda(),
      in.b.data(),
      g.ldb(),
      g.beta,
      c.data(),
      g.ldc());
  return testing::check_against_reference(g, in, c);
}

TEST_CASE("dgemm matches the reference for all transposes, padding, alpha and beta") {
  uint32_t seed = 4000;
  const int64_t shapes[][3] = {{1, 1, 1}, {7, 17, 33}, {65, 3, 129}, {40, 70, 0}};
  for (bool ta : kTrans) {
    for (bool tb : kTrans) {
      for (const auto& s : shapes) {
        for (double beta : {0.0, 1.0, -0.5}) {
          GemmCase g;
          g.trans_a = ta;
          g.trans_b = tb;
          g.m = s[0];
          g.n = s[1];
          g.k = s[2];
          g.pad_a = 2;
          g.pad_b = 1;
          g.pad_c = 3;
          g.alpha = -1.25;
          g.beta = beta;
          CAPTURE(ta);
          CAPTURE(tb);
          CAPTURE(g.k);
          CAPTURE(beta);
          CHECK(run_dgemm_case(g, seed++) == 0);
        }
      }
    }
  }
  std::vector<double> x(4);
  CHECK_THROWS_AS(
      dgemm(false, false, 2, 2, 2, 1.0, x.data(), 1, x.data(), 2, 0.0, x.data(), 2), ValueError);
}

TEST_CASE("dgemm_strided_batched computes each matrix of the batch") {
  // Two 2x2 products, hand-computed: [[1,2],[3,4]]@[[5,6],[7,8]] and [[1,0],[0,1]]@[[2,3],[4,5]].
  const double a[] = {1, 2, 3, 4, 1, 0, 0, 1}, b[] = {5, 6, 7, 8, 2, 3, 4, 5};
  std::vector<double> c(8, std::nan(""));
  dgemm_strided_batched(false, false, 2, 2, 2, 1.0, a, 2, b, 2, 0.0, c.data(), 2, 2, 4, 4, 4);
  CHECK(c == std::vector<double>{19, 22, 43, 50, 2, 3, 4, 5});
}

// `count` floats that end exactly where an inaccessible page begins: reading or writing one
// element past the end faults (the test process crashes instead of passing).
class GuardedFloats {
 public:
  explicit GuardedFloats(int64_t count) {
    const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t bytes = static_cast<size_t>(count) * sizeof(float);
    size_ = (bytes + page - 1) / page * page + page;
    base_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(base_ != MAP_FAILED);
    char* guard = static_cast<char*>(base_) + size_ - page;
    REQUIRE(mprotect(guard, page, PROT_NONE) == 0);
    data_ = reinterpret_cast<float*>(guard - bytes);
  }
  ~GuardedFloats() {
    munmap(base_, size_);
  }
  GuardedFloats(const GuardedFloats&) = delete;
  GuardedFloats& operator=(const GuardedFloats&) = delete;
  float* data() {
    return data_;
  }

 private:
  void* base_ = nullptr;
  size_t size_ = 0;
  float* data_ = nullptr;
};

TEST_CASE("operands ending at an unmapped page are never accessed past their end") {
  // Ragged shapes in the layouts read in place (trans A, plain B) and packed, tightly stored.
  const int64_t shapes[][3] = {{16, 40, 64}, {37, 17, 33}, {5, 3, 700}, {200, 9, 31}, {13, 70, 5}};
  uint32_t seed = 5000;
  for (int kind_index = 0; kind_index < 3; ++kind_index) {
    const SgemmKernelKind kind = kKinds[kind_index];
    if (!sgemm_kernel_supported(kind))
      continue;
    CAPTURE(kKindNames[kind_index]);
    for (bool ta : kTrans) {
      for (bool tb : kTrans) {
        for (const auto& s : shapes) {
          GemmCase g;
          g.trans_a = ta;
          g.trans_b = tb;
          g.m = s[0];
          g.n = s[1];
          g.k = s[2];
          g.beta = 1.0;
          CAPTURE(ta);
          CAPTURE(tb);
          CAPTURE(g.m);
          CAPTURE(g.n);
          CAPTURE(g.k);
          GemmOperands<float> in(g, seed++);
          GuardedFloats a(g.m * g.k), b(g.k * g.n), c(g.m * g.n);
          std::copy(in.a.begin(), in.a.end(), a.data());
          std::copy(in.b.begin(), in.b.end(), b.data());
          std::copy(in.c.begin(), in.c.end(), c.data());
          sgemm_with_kernel(
              kind,
              ta,
              tb,
              g.m,
              g.n,
              g.k,
              1.0f,
              a.data(),
              g.lda(),
              b.data(),
              g.ldb(),
              1.0f,
              c.data(),
              g.ldc());
          const std::vector<float> result(c.data(), c.data() + g.m * g.n);
          CHECK(testing::check_against_reference(g, in, result) == 0);
        }
      }
    }
  }
}

TEST_CASE("pack buffers are aligned and reused without reallocation") {
  float* first = gemm_detail::thread_pack_buffer(0, 1000);
  CHECK(reinterpret_cast<std::uintptr_t>(first) % 64 == 0);
  CHECK(gemm_detail::thread_pack_buffer(0, 10) == first);
  CHECK(gemm_detail::thread_pack_buffer(0, 1000) == first);
  float* grown = gemm_detail::thread_pack_buffer(1, 1 << 20);
  CHECK(reinterpret_cast<std::uintptr_t>(grown) % 64 == 0);
  grown[(1 << 20) - 1] = 1.0f;  // the whole requested range is writable
  CHECK(gemm_detail::thread_pack_buffer(1, 1 << 19) == grown);
}

}  // namespace
}  // namespace peftcpp::cpu
