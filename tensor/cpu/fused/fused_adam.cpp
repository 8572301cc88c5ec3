// One Adam / AdamW step over a parameter in a single pass (torch.optim's single-tensor
// algorithm, operation for operation, in the parameter's dtype):
//   g = maximize ? -grad : grad;  AdamW: p *= 1 - lr wd;  Adam: g += wd p
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;  vmax = max(vmax, v) (amsgrad)
//   p -= lr / (1 - beta1^t) * m / (sqrt(v or vmax) / sqrt(1 - beta2^t) + eps)
// The composed version reads and writes the parameter and both states about ten times.
#include <algorithm>
#include <cmath>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"

namespace peftcpp::cpu {
namespace {

// The update of elements [0, n) of one chunk. The options are template parameters so that the
// loop has no branches and vectorises (this file builds with -fno-math-errno: tensor/cpu/meson.build).
template <typename T, bool Decoupled, bool CoupledWd, bool Amsgrad>
void adam_chunk(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v,
                                      T* __restrict vmax, std::int64_t n, T decay, T wd, T b1, T b2, T c1, T c2,
                                      T step_size, T bc2_sqrt, T eps, T sign) {
  for (std::int64_t i = 0; i < n; ++i) {
    T gi = sign * g[i];
    T pi = p[i];
    if constexpr (Decoupled) pi *= decay;
    if constexpr (CoupledWd) gi = gi + wd * pi;
    const T mi = m[i] * b1 + c1 * gi;
    const T vi = v[i] * b2 + c2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    T vhat = vi;
    if constexpr (Amsgrad) {
      vhat = vmax[i] > vi || vmax[i] != vmax[i] ? vmax[i] : vi;  // NaN in the running max stays
      vmax[i] = vhat;
    }
    const T denom = std::sqrt(vhat) / bc2_sqrt + eps;
    p[i] = pi + -step_size * (mi / denom);
  }
}

template <typename T, bool Decoupled, bool CoupledWd, bool Amsgrad>
void adam_loop(T* p, const T* g, T* m, T* v, T* vmax, std::int64_t n, const AdamStepArgs& a) {
  const T decay = static_cast<T>(1.0 - a.lr * a.weight_decay);
  const T wd = static_cast<T>(a.weight_decay);
  const T b1 = static_cast<T>(a.beta1), b2 = static_cast<T>(a.beta2);
  const T c1 = static_cast<T>(1.0 - a.beta1), c2 = static_cast<T>(1.0 - a.beta2);
  const T step_size = static_cast<T>(a.lr / (1.0 - std::pow(a.beta1, a.step)));
  const T bc2_sqrt = static_cast<T>(std::sqrt(1.0 - std::pow(a.beta2, a.step)));
  const T eps = static_cast<T>(a.eps);
  const T sign = a.maximize ? T(-1) : T(1);
  constexpr std::int64_t kChunk = 4096;
  const std::int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n >= kParallelGrain && !omp_in_parallel())
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::int64_t lo = c * kChunk, len = std::min(kChunk, n - lo);
    adam_chunk<T, Decoupled, CoupledWd, Amsgrad>(p + lo, g + lo, m + lo, v + lo, Amsgrad ? vmax + lo : nullptr, len,
                                                 decay, wd, b1, b2, c1, c2, step_size, bc2_sqrt, eps, sign);
  }
}

template <typename T>
void adam_typed(const TensorView& pv, const TensorView& gv, const TensorView& mv, const TensorView& vv,
                const TensorView& vmaxv, const AdamStepArgs& a) {
  T* p = static_cast<T*>(pv.data);
  const T* g = static_cast<const T*>(gv.data);
  T* m = static_cast<T*>(mv.data);
  T* v = static_cast<T*>(vv.data);
  T* vmax = static_cast<T*>(vmaxv.data);
  const std::int64_t n = pv.numel();
  const bool coupled = !a.decoupled && a.weight_decay != 0.0;
  const int kind = (a.decoupled ? 4 : 0) + (coupled ? 2 : 0) + (vmax != nullptr ? 1 : 0);
  switch (kind) {
    case 0: return adam_loop<T, false, false, false>(p, g, m, v, vmax, n, a);
    case 1: return adam_loop<T, false, false, true>(p, g, m, v, vmax, n, a);
    case 2: return adam_loop<T, false, true, false>(p, g, m, v, vmax, n, a);
    case 3: return adam_loop<T, false, true, true>(p, g, m, v, vmax, n, a);
    case 4: return adam_loop<T, true, false, false>(p, g, m, v, vmax, n, a);
    default: return adam_loop<T, true, false, true>(p, g, m, v, vmax, n, a);
  }
}

}  // namespace

void CpuBackend::adam_step(const TensorView& param, const TensorView& grad, const TensorView& exp_avg,
                           const TensorView& exp_avg_sq, const TensorView& max_exp_avg_sq, const AdamStepArgs& args) {
  if (param.dtype == kFloat64) {
    adam_typed<double>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, args);
  } else {
    adam_typed<float>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, args);
  }
}

}  // namespace peftcpp::cpu
