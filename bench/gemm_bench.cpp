// bench/gemm: float32 GEMM throughput of peftcpp::cpu::sgemm next to OpenBLAS cblas_sgemm
// (--device cuda: peftcpp matmul next to raw cuBLAS, bench/gemm_cuda.cpp).
//
// Shapes are MxKxN (C[M,N] = op(A)[M,K] @ op(B)[K,N]): square sizes, the matrix products of a
// LLaMA-style training step at 1024 tokens (hidden 512, MLP 1376, vocab 32000, LoRA rank 16), and
// for every weight W[out,in] of that step the three products of a linear layer Y = X W^T:
//   forward  Y  = X  W^T  ->  1024 x in  x out  NT
//   backward dX = dY W    ->  1024 x out x in   NN
//   backward dW = dY^T X  ->  out  x 1024 x in  TN
// Each line: "gemm MxKxN[ TN|NT] peftcpp <x> GFLOP/s openblas <y> GFLOP/s ratio <x/y>", with
// medians over --reps timed runs after warm-up, both libraries on --threads threads. OpenBLAS is
// only linked here, as an anchor; run through scripts/bench_gemm.sh so OPENBLAS_CORETYPE is unset.
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tensor/cpu/gemm/gemm.h"

#ifdef PEFTCPP_HAS_CUDA
int run_cuda_gemm_bench(int reps, const std::vector<std::string>& only);  // bench/gemm_cuda.cpp
#endif

namespace {

struct Shape {
  int64_t m, k, n;
  bool trans_a, trans_b;
};

struct Options {
  std::string device = "cpu";
  int threads = 0;
  int reps = 15;
  std::vector<std::string> only;  // shape labels to run (all when empty)
};

std::vector<Shape> bench_shapes() {
  std::vector<Shape> shapes = {
      {512, 512, 512, false, false},
      {1024, 1024, 1024, false, false},
      {2048, 2048, 2048, false, false},
      {1024, 512, 512, false, false},
      {1024, 512, 1376, false, false},
      {1024, 1376, 512, false, false},
      {1024, 512, 32000, false, false},
      {1024, 512, 16, false, false},
      {1024, 16, 512, false, false},
  };
  const int64_t tokens = 1024;
  // Weights as [out, in]: attention 512x512, MLP up/gate 1376x512 and down 512x1376, LM head
  // 32000x512, LoRA A 16x512 and LoRA B 512x16.
  const int64_t weights[][2] = {
      {512, 512}, {1376, 512}, {512, 1376}, {32000, 512}, {16, 512}, {512, 16}};
  for (const auto& w : weights) {
    const int64_t out = w[0], in = w[1];
    const Shape derived[] = {
        {tokens, in, out, false, true},   // Y = X W^T
        {tokens, out, in, false, false},  // dX = dY W
        {out, tokens, in, true, false}};  // dW = dY^T X
    for (const Shape& s : derived) {
      const bool seen = std::any_of(shapes.begin(), shapes.end(), [&](const Shape& t) {
        return t.m == s.m && t.k == s.k && t.n == s.n && t.trans_a == s.trans_a &&
               t.trans_b == s.trans_b;
      });
      if (!seen)
        shapes.push_back(s);
    }
  }
  return shapes;
}

std::string label(const Shape& s) {
  std::string out = std::to_string(s.m) + "x" + std::to_string(s.k) + "x" + std::to_string(s.n);
  if (s.trans_a || s.trans_b) {
    out += std::string(" ") + (s.trans_a ? "T" : "N") + (s.trans_b ? "T" : "N");
  }
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t h = v.size() / 2;
  return v.size() % 2 == 1 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

// Median seconds per call of `fn` over `reps` samples, after warm-up calls (pack buffers, thread
// pools, page faults). One sample repeats the call until it lasts ~20 ms.
template <typename Fn>
double time_calls(Fn fn, int reps) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  fn();
  const double one = seconds_since(t0) / 2.0;
  const int inner = std::max(1, static_cast<int>(0.02 / std::max(one, 1e-9)));
  std::vector<double> samples;
  for (int r = 0; r < reps; ++r) {
    const auto t = std::chrono::steady_clock::now();
    for (int i = 0; i < inner; ++i) fn();
    samples.push_back(seconds_since(t) / inner);
  }
  return median(samples);
}

// Both libraries park their worker threads by spinning for a while after a call (libgomp for
// ~ms, OpenBLAS for up to ~100 ms); with one core per thread, the idle library's spinners would
// steal cycles from the timed one. So each library runs its samples in one block, after a pause.
void let_spinning_threads_sleep() {
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
}

// Returns {peftcpp GFLOP/s, openblas GFLOP/s}.
std::pair<double, double> run_shape(const Shape& s, int reps) {
  const int64_t lda = s.trans_a ? s.m : s.k, ldb = s.trans_b ? s.k : s.n, ldc = s.n;
  std::vector<float> a(static_cast<size_t>(s.m * s.k)), b(static_cast<size_t>(s.k * s.n));
  std::vector<float> c_ours(static_cast<size_t>(s.m * s.n)), c_ref(c_ours.size());
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float& x : a) x = dist(rng);
  for (float& x : b) x = dist(rng);
  auto ours = [&] {
    peftcpp::cpu::sgemm(
        s.trans_a,
        s.trans_b,
        s.m,
        s.n,
        s.k,
        1.0f,
        a.data(),
        lda,
        b.data(),
        ldb,
        0.0f,
        c_ours.data(),
        ldc);
  };
  auto theirs = [&] {
    cblas_sgemm(
        CblasRowMajor,
        s.trans_a ? CblasTrans : CblasNoTrans,
        s.trans_b ? CblasTrans : CblasNoTrans,
        static_cast<blasint>(s.m),
        static_cast<blasint>(s.n),
        static_cast<blasint>(s.k),
        1.0f,
        a.data(),
        static_cast<blasint>(lda),
        b.data(),
        static_cast<blasint>(ldb),
        0.0f,
        c_ref.data(),
        static_cast<blasint>(ldc));
  };
  let_spinning_threads_sleep();
  const double t_ours = time_calls(ours, reps);
  let_spinning_threads_sleep();
  const double t_theirs = time_calls(theirs, reps);
  double worst = 0.0;
  for (size_t i = 0; i < c_ours.size(); ++i) {
    worst = std::max(worst, static_cast<double>(std::fabs(c_ours[i] - c_ref[i])));
  }
  // Entries are sums of k products of values in [-1, 1] (size ~sqrt(k)); float32 rounding of
  // either library stays far below k * eps * sqrt(k).
  const double k = static_cast<double>(s.k);
  const double tol = 1.2e-7 * k * std::sqrt(k) + 1e-6;
  if (worst > tol) {
    std::fprintf(
        stderr,
        "warning: %s differs from OpenBLAS by %g (tolerance %g)\n",
        label(s).c_str(),
        worst,
        tol);
  }
  const double flops = 2.0 * static_cast<double>(s.m) * k * static_cast<double>(s.n);
  return {flops / t_ours / 1e9, flops / t_theirs / 1e9};
}

int parse_int(const std::string& flag, const char* value) {
  char* end = nullptr;
  const long v = std::strtol(value, &end, 10);
  if (end == value || *end != '\0' || v < 1 || v > 1 << 20) {
    throw std::invalid_argument(flag + " expects a positive integer, got '" + value + "'");
  }
  return static_cast<int>(v);
}

Options parse_options(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      throw std::invalid_argument("");
    }
    if (i + 1 >= argc)
      throw std::invalid_argument(arg + " needs a value");
    const char* value = argv[++i];
    if (arg == "--device") {
      opt.device = value;
    } else if (arg == "--threads") {
      opt.threads = parse_int(arg, value);
    } else if (arg == "--reps") {
      opt.reps = parse_int(arg, value);
    } else if (arg == "--only") {
      opt.only.emplace_back(value);
    } else {
      throw std::invalid_argument("unknown option " + arg);
    }
  }
  return opt;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  try {
    opt = parse_options(argc, argv);
  } catch (const std::invalid_argument& e) {
    const bool help = e.what()[0] == '\0';
    if (!help)
      std::fprintf(stderr, "gemm: %s\n", e.what());
    std::fprintf(
        help ? stdout : stderr,
        "usage: gemm [--device cpu|cuda] [--threads N] [--reps N] [--only 'MxKxN[ TN|NT]']...\n");
    return help ? 0 : 2;
  }
  if (opt.device == "cuda") {
#ifdef PEFTCPP_HAS_CUDA
    try {
      return run_cuda_gemm_bench(opt.reps, opt.only);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gemm: --device cuda: %s\n", e.what());
      return 1;
    }
#else
    std::fprintf(stderr, "gemm: --device cuda: peftcpp was built without CUDA\n");
    return 2;
#endif
  }
  if (opt.device != "cpu") {
    std::fprintf(stderr, "gemm: unknown device '%s' (expected cpu or cuda)\n", opt.device.c_str());
    return 2;
  }
  if (opt.threads > 0)
    peftcpp::cpu::set_gemm_num_threads(opt.threads);
  const int threads = peftcpp::cpu::gemm_num_threads();
  openblas_set_num_threads(threads);
  std::fprintf(
      stderr,
      "# peftcpp kernel %s, OpenBLAS %s (core %s), %d threads, %d reps\n",
      peftcpp::cpu::sgemm_kernel_name(),
      openblas_get_config(),
      openblas_get_corename(),
      threads,
      opt.reps);
  for (const Shape& s : bench_shapes()) {
    const std::string name = label(s);
    if (!opt.only.empty() && std::find(opt.only.begin(), opt.only.end(), name) == opt.only.end()) {
      continue;
    }
    const auto [ours, theirs] = run_shape(s, opt.reps);
    std::printf(
        "gemm %s peftcpp %.1f GFLOP/s openblas %.1f GFLOP/s ratio %.2f\n",
        name.c_str(),
        ours,
        theirs,
        ours / theirs);
    std::fflush(stdout);
  }
  return 0;
}
