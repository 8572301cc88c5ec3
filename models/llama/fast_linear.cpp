#include "models/llama/fast_linear.h"

#include <omp.h>

#include <typeinfo>

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

}  // namespace

void gemv_rows(
    const float* x,
    std::int64_t rows,
    std::int64_t k,
    const float* w,
    std::int64_t n,
    const float* bias,
    float* y) {
  const double bytes = 4.0 * static_cast<double>(n) * static_cast<double>(k);
  const int threads = bytes < (1 << 18) || omp_in_parallel() ? 1 : cpu::gemm_num_threads();
  if (threads <= 1) {
    gemv_block(x, rows, k, w, 0, n, bias, y, n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const std::int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    gemv_block(x, rows, k, w, n * t / nt, n * (t + 1) / nt, bias, y, n);
  }
}

Tensor apply_linear(const std::shared_ptr<nn::UnaryModule>& module, const Tensor& x) {
  const nn::UnaryModule& m = *module;
  if (typeid(m) != typeid(nn::Linear) || GradMode::is_enabled())
    return module->forward(x);
  const auto& lin = static_cast<const nn::Linear&>(m);
  const Tensor& w = lin.weight;
  const std::int64_t k = lin.in_features, n = lin.out_features;
  if (x.dtype() != kFloat32 || w.dtype() != kFloat32 || !x.device().is_cpu() ||
      !w.device().is_cpu() || !w.is_contiguous() || x.dim() < 1 || x.size(-1) != k || k == 0 ||
      (lin.bias.defined() && (lin.bias.dtype() != kFloat32 || !lin.bias.is_contiguous())))
    return module->forward(x);
  const std::int64_t rows = x.numel() / k;
  if (rows == 0 || rows > kMaxGemvRows)
    return module->forward(x);
  const Tensor xc = x.contiguous();
  Shape out_shape = x.shape();
  out_shape.back() = n;
  Tensor y = empty(out_shape, kFloat32);
  gemv_rows(
      xc.data_ptr<float>(),
      rows,
      k,
      w.data_ptr<float>(),
      n,
      lin.bias.defined() ? lin.bias.data_ptr<float>() : nullptr,
      y.data_ptr<float>());
  return y;
}

}  // namespace peftcpp::models::llama
