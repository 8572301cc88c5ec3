// CudaBackend's fused training kernels: the launchers of cuda/kernels/fused.h on the current
// stream, for float32, float64, bfloat16 and float16 (16-bit values computed in float32, per-row
// statistics kept in float32). Scratch (rms_norm's weight-gradient partials, Adam's tensor table)
// comes from the caching allocator and is released right after the launch: the allocator hands a
// block out again only on the stream it was freed on, so the kernel has read it by then.
#include "cuda/backend/cuda_backend.h"
#include "cuda/context.h"
#include "cuda/kernels/fused.h"
#include "tensor/ops.h"

namespace peftcpp::cuda {
namespace {

Tensor workspace(std::size_t bytes) {
  return empty({static_cast<std::int64_t>(bytes)}, kUInt8, kCUDA);
}

std::int64_t rows_of(const TensorView& x) {
  return x.shape.empty() || x.shape.back() == 0 ? 0 : x.numel() / x.shape.back();
}

}  // namespace

bool CudaBackend::has_fused(FusedOp /*op*/, DType dtype) const {
  return dtype == kFloat32 || dtype == kFloat64 || dtype == kBFloat16 || dtype == kFloat16;
}

void CudaBackend::rms_norm(const TensorView& x, const TensorView& w, double eps, const TensorView& y,
                           const TensorView& rstd) {
  launch_rms_norm(x.data, w.data, eps, y.data, rstd.data, rows_of(x), x.shape.back(), x.dtype, current_stream());
}

void CudaBackend::rms_norm_backward(const TensorView& g, const TensorView& x, const TensorView& w,
                                    const TensorView& rstd, const TensorView& gx, const TensorView& gw) {
  const std::int64_t rows = rows_of(x), n = x.shape.back();
  const Tensor scratch = gw.data != nullptr ? workspace(rms_norm_backward_workspace_bytes(rows, n, x.dtype)) : Tensor();
  launch_rms_norm_backward(g.data, x.data, w.data, rstd.data, gx.data, gw.data,
                           scratch.defined() ? scratch.raw_data() : nullptr, rows, n, x.dtype, current_stream());
}

void CudaBackend::rotary(const TensorView& x, const TensorView& cos, const TensorView& sin, const TensorView& out,
                         bool transpose) {
  RotaryGeometry geo;
  geo.batch = x.shape[0];
  geo.heads = x.shape[1];
  geo.seq = x.shape[2];
  geo.dim = x.shape[3];
  for (int i = 0; i < 4; ++i) geo.x_strides[i] = x.strides[static_cast<std::size_t>(i)];
  for (int i = 0; i < 3; ++i) {
    geo.cos_strides[i] = cos.strides[static_cast<std::size_t>(i)];
    geo.sin_strides[i] = sin.strides[static_cast<std::size_t>(i)];
  }
  launch_rotary(x.data, cos.data, sin.data, out.data, geo, transpose, x.dtype, current_stream());
}

void CudaBackend::silu_mul(const TensorView& gate, const TensorView& up, const TensorView& out) {
  launch_silu_mul(gate.data, up.data, out.data, gate.numel(), gate.dtype, current_stream());
}

void CudaBackend::silu_mul_backward(const TensorView& g, const TensorView& gate, const TensorView& up,
                                    const TensorView& d_gate, const TensorView& d_up) {
  launch_silu_mul_backward(g.data, gate.data, up.data, d_gate.data, d_up.data, gate.numel(), gate.dtype,
                           current_stream());
}

void CudaBackend::cross_entropy(const TensorView& logits, const TensorView& target, std::int64_t ignore_index,
                                const TensorView& loss, const TensorView& lse) {
  launch_cross_entropy(logits.data, static_cast<const std::int64_t*>(target.data), ignore_index, loss.data, lse.data,
                       logits.shape[0], logits.shape[1], logits.dtype, current_stream());
}

void CudaBackend::cross_entropy_backward(const TensorView& logits, const TensorView& target, std::int64_t ignore_index,
                                         const TensorView& lse, const TensorView& scale, const TensorView& grad) {
  launch_cross_entropy_backward(logits.data, static_cast<const std::int64_t*>(target.data), ignore_index, lse.data,
                                scale.data, scale.numel() != 1, grad.data, logits.shape[0], logits.shape[1],
                                logits.dtype, current_stream());
}

void CudaBackend::adam_step(const TensorView& param, const TensorView& grad, const TensorView& exp_avg,
                            const TensorView& exp_avg_sq, const TensorView& max_exp_avg_sq, const AdamStepArgs& args) {
  AdamTensor t;
  t.param = param.data;
  t.grad = grad.data;
  t.exp_avg = exp_avg.data;
  t.exp_avg_sq = exp_avg_sq.data;
  t.max_exp_avg_sq = max_exp_avg_sq.data;
  t.numel = param.numel();
  const Tensor scratch = workspace(adam_step_workspace_bytes(1));
  launch_adam_step(&t, 1, args, param.dtype, scratch.raw_data(), current_stream());
}

}  // namespace peftcpp::cuda
