// One Adam / AdamW step in a single pass over a contiguous parameter, its gradient and states,
// float32 and float64, operation for operation as the CPU kernel (tensor/cpu/fused/fused_adam.cpp,
// torch.optim's single-tensor algorithm); the step constants are computed on the host the same way.
#include <cmath>

#include "cuda/kernels/elementwise.cuh"
#include "cuda/kernels/kernels.h"

namespace peftcpp::cuda::kernels {
namespace {

template <typename T>
struct AdamConstants {
  T decay, wd, b1, b2, c1, c2, step_size, bc2_sqrt, eps, sign;
  bool decoupled, coupled_wd;
};

template <typename T>
__global__ void __launch_bounds__(kBlock) adam_kernel(std::int64_t n, AdamConstants<T> k, T* p, const T* g, T* m, T* v,
                                                      T* vmax) {
  const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    T gi = k.sign * g[i];
    T pi = p[i];
    if (k.decoupled) pi *= k.decay;
    if (k.coupled_wd) gi = gi + k.wd * pi;
    const T mi = m[i] * k.b1 + k.c1 * gi;
    const T vi = v[i] * k.b2 + k.c2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    T vhat = vi;
    if (vmax != nullptr) {
      vhat = vmax[i] > vi || is_nan(vmax[i]) ? vmax[i] : vi;
      vmax[i] = vhat;
    }
    const T denom = sqrt(vhat) / k.bc2_sqrt + k.eps;
    p[i] = pi + -k.step_size * (mi / denom);
  }
}

template <typename T>
AdamConstants<T> constants(const AdamStepArgs& a) {
  AdamConstants<T> k;
  k.decay = static_cast<T>(1.0 - a.lr * a.weight_decay);
  k.wd = static_cast<T>(a.weight_decay);
  k.b1 = static_cast<T>(a.beta1);
  k.b2 = static_cast<T>(a.beta2);
  k.c1 = static_cast<T>(1.0 - a.beta1);
  k.c2 = static_cast<T>(1.0 - a.beta2);
  k.step_size = static_cast<T>(a.lr / (1.0 - std::pow(a.beta1, a.step)));
  k.bc2_sqrt = static_cast<T>(std::sqrt(1.0 - std::pow(a.beta2, a.step)));
  k.eps = static_cast<T>(a.eps);
  k.sign = a.maximize ? T(-1) : T(1);
  k.decoupled = a.decoupled;
  k.coupled_wd = !a.decoupled && a.weight_decay != 0.0;
  return k;
}

}  // namespace

void adam_step(const TensorView& param, const TensorView& grad, const TensorView& exp_avg,
               const TensorView& exp_avg_sq, const TensorView& max_exp_avg_sq, const AdamStepArgs& args,
               cudaStream_t stream) {
  const std::int64_t n = param.numel();
  if (n == 0) return;
  auto run = [&]<typename T>() {
    adam_kernel<T><<<grid_for(n), kBlock, 0, stream>>>(n, constants<T>(args), static_cast<T*>(param.data),
                                                       static_cast<const T*>(grad.data), static_cast<T*>(exp_avg.data),
                                                       static_cast<T*>(exp_avg_sq.data),
                                                       static_cast<T*>(max_exp_avg_sq.data));
  };
  if (param.dtype == DType::Float32) {
    run.template operator()<float>();
  } else if (param.dtype == DType::Float64) {
    run.template operator()<double>();
  } else {
    throw DeviceError(std::string("[adam_step] the CUDA fused kernel takes float32 or float64, got ") +
                      dtype_name(param.dtype));
  }
  PEFTCPP_CUDA_CHECK_LAUNCH("adam_step");
}

}  // namespace peftcpp::cuda::kernels
