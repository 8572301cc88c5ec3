// Bandwidth of add, mul and softmax on 64 MB float32 tensors against memcpy of the same bytes.
//
// Bytes counted are bytes read + bytes written by the op (add/mul: 2 inputs + 1 output; softmax:
// 1 input + 1 output), and 2 x size for memcpy. Each op is timed `repeats` times after warm-up
// and the median is printed, one line per op:
//   elementwise <op> peftcpp <x> GB/s memcpy <y> GB/s ratio <x/y>
// Usage: bench_elementwise [threads=2] [repeats=21] [row=4096] [megabytes=64]
// (64 MB tensors do not fit in this machine's 32 MB L3, so memcpy runs at DRAM speed there; 8 MB
// shows the cache-resident case.)
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "tensor/ops.h"

using namespace peftcpp;

namespace {

double seconds_of(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double>(t1 - t0).count();
}

double median_seconds(const std::function<void()>& f, int repeats) {
  for (int i = 0; i < 3; ++i) f();  // warm-up: page faults, allocator cache
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) t.push_back(seconds_of(f));
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// memcpy split over the threads, as the ops split their work.
void parallel_memcpy(char* dst, const char* src, std::size_t n, int threads) {
#pragma omp parallel num_threads(threads)
  {
    const std::size_t nt = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
    const std::size_t b = n * t / nt / 64 * 64, e = t + 1 == nt ? n : n * (t + 1) / nt / 64 * 64;
    std::memcpy(dst + b, src + b, e - b);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 21;
  const std::int64_t row = argc > 3 ? std::atoll(argv[3]) : 4096;
  const std::int64_t megabytes = argc > 4 ? std::atoll(argv[4]) : 64;
  omp_set_num_threads(threads);
  const std::int64_t n = (megabytes << 20) / 4;  // float32 elements
  const std::size_t bytes = static_cast<std::size_t>(n) * 4;

  Tensor a = randn({n / row, row}), b = randn({n / row, row});
  std::vector<char> src(bytes, 1), dst(bytes, 0);
  const double t_memcpy =
      median_seconds([&] { parallel_memcpy(dst.data(), src.data(), bytes, threads); }, repeats);
  const double memcpy_gbs = 2.0 * static_cast<double>(bytes) / t_memcpy / 1e9;

  struct Case {
    const char* name;
    double traffic;  // bytes read + written
    std::function<void()> run;
  };
  Tensor sink;
  const std::vector<Case> cases = {
      {"add", 3.0 * static_cast<double>(bytes), [&] { sink = add(a, b); }},
      {"mul", 3.0 * static_cast<double>(bytes), [&] { sink = mul(a, b); }},
      {"softmax", 2.0 * static_cast<double>(bytes), [&] { sink = softmax(a, -1); }},
  };
  for (const Case& c : cases) {
    const double t = median_seconds(
        [&] {
          sink = Tensor();  // release the previous output first so the allocator can hand it back
          c.run();
        },
        repeats);
    const double gbs = c.traffic / t / 1e9;
    std::printf(
        "elementwise %s peftcpp %.1f GB/s memcpy %.1f GB/s ratio %.2f%s\n",
        c.name,
        gbs,
        memcpy_gbs,
        gbs / memcpy_gbs,
        megabytes == 64 ? "" : (" (" + std::to_string(megabytes) + " MB)").c_str());
  }
  return 0;
}
