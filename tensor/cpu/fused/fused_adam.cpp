// One Adam / AdamW step over a parameter in a single pass (torch.optim's single-tensor
// algorithm, operation for operation, in the parameter's dtype):
//   g = maximize ? -grad : grad;  AdamW: p *= 1 - lr wd;  Adam: g += wd p
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;  vmax = max(vmax, v) (amsgrad)
//   p -= lr / (1 - beta1^t) * m / (sqrt(v or vmax) / sqrt(1 - beta2^t) + eps)
// The composed version reads and writes the parameter and both states about ten times.
#include <cmath>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"

namespace peftcpp::cpu {
namespace {

template <typename T>
void adam_typed(const TensorView& pv, const TensorView& gv, const TensorView& mv, const TensorView& vv,
                const TensorView& vmaxv, const AdamStepArgs& a) {
  const std::int64_t n = pv.numel();
  T* p = static_cast<T*>(pv.data);
  const T* g = static_cast<const T*>(gv.data);
  T* m = static_cast<T*>(mv.data);
  T* v = static_cast<T*>(vv.data);
  T* vmax = static_cast<T*>(vmaxv.data);
  const T decay = static_cast<T>(1.0 - a.lr * a.weight_decay);
  const T wd = static_cast<T>(a.weight_decay);
  const T b1 = static_cast<T>(a.beta1), b2 = static_cast<T>(a.beta2);
  const T c1 = static_cast<T>(1.0 - a.beta1), c2 = static_cast<T>(1.0 - a.beta2);
  const T step_size = static_cast<T>(a.lr / (1.0 - std::pow(a.beta1, a.step)));
  const T bc2_sqrt = static_cast<T>(std::sqrt(1.0 - std::pow(a.beta2, a.step)));
  const T eps = static_cast<T>(a.eps);
  const T sign = a.maximize ? T(-1) : T(1);
  const bool decoupled = a.decoupled, coupled_wd = !a.decoupled && a.weight_decay != 0.0;
#pragma omp parallel for simd schedule(static) if (n >= kParallelGrain && !omp_in_parallel())
  for (std::int64_t i = 0; i < n; ++i) {
    T gi = sign * g[i];
    T pi = p[i];
    if (decoupled) pi *= decay;
    if (coupled_wd) gi = gi + wd * pi;
    const T mi = m[i] * b1 + c1 * gi;
    const T vi = v[i] * b2 + c2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    T vhat = vi;
    if (vmax != nullptr) {
      vhat = vmax[i] > vi || std::isnan(vmax[i]) ? vmax[i] : vi;
      vmax[i] = vhat;
    }
    const T denom = std::sqrt(vhat) / bc2_sqrt + eps;
    p[i] = pi + -step_size * (mi / denom);
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
