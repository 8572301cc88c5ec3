#include "models/llama/fast_linear.h"

#include <omp.h>

#include <algorithm>
#include <typeinfo>
#include <vector>

#include "autograd/grad_mode.h"
#include "nn/layers/linear.h"
#include "tensor/cpu/gemm/gemm.h"
#include "tensor/ops.h"

namespace peftcpp::models::llama {
namespace {

constexpr std::int64_t kLanes = 16;

// Weight rows [j0, j1) against every input row. Each weight row is streamed once; four rows at
// a time keep four independent accumulator vectors in flight (kLanes partial sums each,
// vectorised by the compiler for the best ISA the CPU has), reduced at the end.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) void gemv_block(
    const float* x,
    std::int64_t rows,
    std::int64_t k,
    const float* w,
    std::int64_t j0,
    std::int64_t j1,
    const float* bias,
    float* y,
    std::int64_t n) {
  const std::int64_t k_main = k / kLanes * kLanes;
  std::int64_t j = j0;
  for (; j + 4 <= j1; j += 4) {
    const float* w0 = w + j * k;
    const float* w1 = w0 + k;
    const float* w2 = w1 + k;
    const float* w3 = w2 + k;
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * k;
      float a0[kLanes] = {}, a1[kLanes] = {}, a2[kLanes] = {}, a3[kLanes] = {};
      for (std::int64_t p = 0; p < k_main; p += kLanes) {
        for (std::int64_t l = 0; l < kLanes; ++l) {
          const float xv = xr[p + l];
          a0[l] += xv * w0[p + l];
          a1[l] += xv * w1[p + l];
          a2[l] += xv * w2[p + l];
          a3[l] += xv * w3[p + l];
        }
      }
      float s[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      for (std::int64_t l = 0; l < kLanes; ++l) {
        s[0] += a0[l];
        s[1] += a1[l];
        s[2] += a2[l];
        s[3] += a3[l];
      }
      for (std::int64_t p = k_main; p < k; ++p) {
        s[0] += xr[p] * w0[p];
        s[1] += xr[p] * w1[p];
        s[2] += xr[p] * w2[p];
        s[3] += xr[p] * w3[p];
      }
      for (int q = 0; q < 4; ++q) y[r * n + j + q] = bias != nullptr ? s[q] + bias[j + q] : s[q];
    }
  }
  for (; j < j1; ++j) {
    const float* wj = w + j * k;
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * k;
      float acc[kLanes] = {};
      for (std::int64_t p = 0; p < k_main; p += kLanes)
        for (std::int64_t l = 0; l < kLanes; ++l) acc[l] += xr[p + l] * wj[p + l];
      float s = 0.0f;
      for (std::int64_t l = 0; l < kLanes; ++l) s += acc[l];
      for (std::int64_t p = k_main; p < k; ++p) s += xr[p] * wj[p];
      y[r * n + j] = bias != nullptr ? s + bias[j] : s;
    }
  }
}

// One product of a batch: y[r, n] = x[r, k] @ w[n, k]^T (+ bias).
struct GemvJob {
  const float* w;
  const float* bias;
  float* y;
  std::int64_t n;
};

// The jobs' output columns, laid end to end, split evenly over the threads of one parallel
// region (q/k/v or gate/up cost one fork/join instead of three or two).
void run_jobs(const float* x, std::int64_t rows, std::int64_t k, const std::vector<GemvJob>& jobs) {
  std::int64_t total = 0;
  for (const GemvJob& j : jobs) total += j.n;
  const double bytes = 4.0 * static_cast<double>(total) * static_cast<double>(k);
  const int threads = bytes < (1 << 18) || omp_in_parallel() ? 1 : cpu::gemm_num_threads();
  auto run_range = [&](std::int64_t lo, std::int64_t hi) {
    std::int64_t base = 0;
    for (const GemvJob& j : jobs) {
      const std::int64_t a = std::max(lo, base) - base, b = std::min(hi, base + j.n) - base;
      if (a < b)
        gemv_block(x, rows, k, j.w, a, b, j.bias, j.y, j.n);
      base += j.n;
    }
  };
  if (threads <= 1) {
    run_range(0, total);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const std::int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    run_range(total * t / nt, total * (t + 1) / nt);
  }
}

// The Linear behind `module` when the GEMV path may replace its forward for `x`, else null.
const nn::Linear* gemv_linear(const std::shared_ptr<nn::UnaryModule>& module, const Tensor& x) {
  const nn::UnaryModule& m = *module;
  if (typeid(m) != typeid(nn::Linear) || GradMode::is_enabled())
    return nullptr;
  const auto& lin = static_cast<const nn::Linear&>(m);
  const Tensor& w = lin.weight;
  const std::int64_t k = lin.in_features;
  if (x.dtype() != kFloat32 || w.dtype() != kFloat32 || !x.device().is_cpu() ||
      !w.device().is_cpu() || !w.is_contiguous() || x.dim() < 1 || x.size(-1) != k || k == 0 ||
      (lin.bias.defined() && (lin.bias.dtype() != kFloat32 || !lin.bias.is_contiguous())))
    return nullptr;
  const std::int64_t rows = x.numel() / k;
  return rows == 0 || rows > kMaxGemvRows ? nullptr : &lin;
}

}  // namespace

void gemv_rows(
    const float* x,
    std::int64_t rows,
    std::int64_t k,
    const float* w,
    std::int64_t n,
    const float* bias,
    float* y) {
  run_jobs(x, rows, k, {GemvJob{w, bias, y, n}});
}

std::vector<Tensor> apply_linears(
    const std::vector<std::shared_ptr<nn::UnaryModule>>& modules, const Tensor& x) {
  std::vector<const nn::Linear*> lins;
  for (const auto& m : modules) lins.push_back(gemv_linear(m, x));
  const bool all =
      std::all_of(lins.begin(), lins.end(), [](const nn::Linear* l) { return l != nullptr; });
  std::vector<Tensor> out;
  if (!all) {
    for (const auto& m : modules) out.push_back(m->forward(x));
    return out;
  }
  const Tensor xc = x.contiguous();
  const std::int64_t k = x.size(-1), rows = x.numel() / k;
  std::vector<GemvJob> jobs;
  for (const nn::Linear* lin : lins) {
    Shape shape = x.shape();
    shape.back() = lin->out_features;
    out.push_back(empty(shape, kFloat32));
    jobs.push_back(
        {lin->weight.data_ptr<float>(),
         lin->bias.defined() ? lin->bias.data_ptr<float>() : nullptr,
         out.back().data_ptr<float>(),
         lin->out_features});
  }
  run_jobs(xc.data_ptr<float>(), rows, k, jobs);
  return out;
}

Tensor apply_linear(const std::shared_ptr<nn::UnaryModule>& module, const Tensor& x) {
  return apply_linears({module}, x).front();
}

}  // namespace peftcpp::models::llama
