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

// Weight rows [j0, j1) against every input row. Each weight row is streamed once; the dot
// products accumulate in kLanes independent partial sums (vectorised by the compiler for the
// best ISA the CPU has) reduced at the end.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) void gemv_block(
    const float* x, std::int64_t rows, std::int64_t k, const float* w, std::int64_t j0,
    std::int64_t j1, const float* bias, float* y, std::int64_t n) {
  const std::int64_t k_main = k / kLanes * kLanes;
  for (std::int64_t j = j0; j < j1; ++j) {
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

void gemv_rows(const float* x, std::int64_t rows, std::int64_t k, const float* w, std::int64_t n,
               const float* bias, float* y) {
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
  if (typeid(m) != typeid(nn::Linear) || GradMode::is_enabled()) return module->forward(x);
  const auto& lin = static_cast<const nn::Linear&>(m);
  const Tensor& w = lin.weight;
  const std::int64_t k = lin.in_features, n = lin.out_features;
  if (x.dtype() != kFloat32 || w.dtype() != kFloat32 || !x.device().is_cpu() ||
      !w.device().is_cpu() || !w.is_contiguous() || x.dim() < 1 || x.size(-1) != k || k == 0 ||
      (lin.bias.defined() && (lin.bias.dtype() != kFloat32 || !lin.bias.is_contiguous())))
    return module->forward(x);
  const std::int64_t rows = x.numel() / k;
  if (rows == 0 || rows > kMaxGemvRows) return module->forward(x);
  const Tensor xc = x.contiguous();
  Shape out_shape = x.shape();
  out_shape.back() = n;
  Tensor y = empty(out_shape, kFloat32);
  gemv_rows(xc.data_ptr<float>(), rows, k, w.data_ptr<float>(), n,
            lin.bias.defined() ? lin.bias.data_ptr<float>() : nullptr, y.data_ptr<float>());
  return y;
}

}  // namespace peftcpp::models::llama
