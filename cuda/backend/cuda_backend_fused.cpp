// CudaBackend's fused training kernels: forwarded to cuda/kernels/fused_*.cu on the current
// stream. Offered for float32 and float64, the dtypes of the CPU kernels they are tested against;
// 16-bit floats take the composed path of the op layer.
#include "cuda/backend/cuda_backend.h"
#include "cuda/context.h"
#include "cuda/kernels/kernels.h"

namespace peftcpp::cuda {

bool CudaBackend::has_fused(FusedOp /*op*/, DType dtype) const {
  return dtype == kFloat32 || dtype == kFloat64;
}

void CudaBackend::rms_norm(const TensorView& x, const TensorView& w, double eps, const TensorView& y,
                           const TensorView& rstd) {
  kernels::rms_norm(x, w, eps, y, rstd, current_stream());
}

void CudaBackend::rms_norm_backward(const TensorView& g, const TensorView& x, const TensorView& w,
                                    const TensorView& rstd, const TensorView& gx, const TensorView& gw) {
  kernels::rms_norm_backward(g, x, w, rstd, gx, gw, current_stream());
}

void CudaBackend::rotary(const TensorView& x, const TensorView& cos, const TensorView& sin, const TensorView& out,
                         bool transpose) {
  kernels::rotary(x, cos, sin, out, transpose, current_stream());
}

void CudaBackend::silu_mul(const TensorView& gate, const TensorView& up, const TensorView& out) {
  kernels::silu_mul(gate, up, out, current_stream());
}

void CudaBackend::silu_mul_backward(const TensorView& g, const TensorView& gate, const TensorView& up,
                                    const TensorView& d_gate, const TensorView& d_up) {
  kernels::silu_mul_backward(g, gate, up, d_gate, d_up, current_stream());
}

void CudaBackend::cross_entropy(const TensorView& logits, const TensorView& target, std::int64_t ignore_index,
                                const TensorView& loss, const TensorView& lse) {
  kernels::cross_entropy(logits, target, ignore_index, loss, lse, current_stream());
}

void CudaBackend::cross_entropy_backward(const TensorView& logits, const TensorView& target, std::int64_t ignore_index,
                                         const TensorView& lse, const TensorView& scale, const TensorView& grad) {
  kernels::cross_entropy_backward(logits, target, ignore_index, lse, scale, grad, current_stream());
}

void CudaBackend::adam_step(const TensorView& param, const TensorView& grad, const TensorView& exp_avg,
                            const TensorView& exp_avg_sq, const TensorView& max_exp_avg_sq, const AdamStepArgs& args) {
  kernels::adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, args, current_stream());
}

}  // namespace peftcpp::cuda
