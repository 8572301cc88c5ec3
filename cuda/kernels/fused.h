// Host launchers of the CUDA fused training kernels, one per fused virtual of Backend
// (tensor/backend/backend.h) with the CPU kernels' semantics (tensor/cpu/fused/). Internal to
// the CUDA backend; includes no CUDA header (streams are `void*` holding a cudaStream_t, null
// for the legacy default stream).
//
// All pointers are device pointers to contiguous data unless a stride argument says otherwise.
// Supported storage dtypes: float32, float64, bfloat16, float16. 16-bit values are computed in
// float32 and rounded once on store; float64 is computed in double. Any other dtype throws
// DeviceError naming the op and the dtype. Per-row statistics (rms_norm's rstd, cross-entropy's
// lse) are stored in fused_stat_dtype(dtype): float32 for 16-bit inputs. Every launch is checked
// with cudaGetLastError (errors become DeviceError naming the op); kernels run asynchronously on
// `stream`, so errors inside a kernel surface at the next synchronising call.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/backend/backend.h"
#include "tensor/dtype.h"

namespace peftcpp::cuda {

/// dtype of the per-row statistics saved by rms_norm (rstd) and cross_entropy (lse).
inline DType fused_stat_dtype(DType dtype) {
  return dtype == DType::Float64 ? DType::Float64 : DType::Float32;
}

// ---- RMSNorm (cuda/kernels/fused_norm.cu) ----

/// y = w * (x * rstd) per row of n, rstd[r] = 1 / sqrt(mean(x[r]^2) + eps). x, y: [rows, n] of
/// `dtype`; w: [n] of `dtype` or null (no weight); rstd: [rows] of fused_stat_dtype(dtype).
void launch_rms_norm(
    const void* x,
    const void* w,
    double eps,
    void* y,
    void* rstd,
    std::int64_t rows,
    std::int64_t n,
    DType dtype,
    void* stream);

/// Bytes of scratch that launch_rms_norm_backward needs when it computes the weight gradient
/// (per-block partial sums, reduced by a second kernel in a fixed order: deterministic).
std::size_t rms_norm_backward_workspace_bytes(std::int64_t rows, std::int64_t n, DType dtype);

/// With u = g * w: gx = rstd * u - x * rstd^3 * mean(u * x) per row; gw (null: not wanted) = sum
/// over rows of g * x * rstd. w null means no weight. `workspace` holds at least
/// rms_norm_backward_workspace_bytes(rows, n, dtype) bytes when gw is not null (else may be null).
void launch_rms_norm_backward(
    const void* g,
    const void* x,
    const void* w,
    const void* rstd,
    void* gx,
    void* gw,
    void* workspace,
    std::int64_t rows,
    std::int64_t n,
    DType dtype,
    void* stream);

// ---- rotary position embedding (cuda/kernels/fused_rotary.cu) ----

/// Shapes and strides (in elements) of a rotary call: x is [B, H, T, D] with any strides; cos and
/// sin are [B, T, D] views (stride 0 on a broadcast dim, e.g. a [1, T, D] table over B > 1).
struct RotaryGeometry {
  std::int64_t batch = 0, heads = 0, seq = 0, dim = 0;
  std::int64_t x_strides[4] = {0, 0, 0, 0};
  std::int64_t cos_strides[3] = {0, 0, 0};
  std::int64_t sin_strides[3] = {0, 0, 0};
};

/// out (contiguous [B, H, T, D]) = x * cos + rotate_half(x) * sin; with `transpose` the
/// gradient map out = x * cos + rotate_half^T(x * sin). x, cos, sin, out all of `dtype`.
void launch_rotary(
    const void* x,
    const void* cos,
    const void* sin,
    void* out,
    const RotaryGeometry& geometry,
    bool transpose,
    DType dtype,
    void* stream);

// ---- SwiGLU (cuda/kernels/fused_silu_mul.cu) ----

/// out = silu(gate) * up over n elements (silu(a) = a / (1 + exp(-a))).
void launch_silu_mul(
    const void* gate, const void* up, void* out, std::int64_t n, DType dtype, void* stream);

/// d_up = g * silu(gate), d_gate = g * up * s * (1 + gate * (1 - s)) with s = sigmoid(gate);
/// either output may be null (not wanted).
void launch_silu_mul_backward(
    const void* g,
    const void* gate,
    const void* up,
    void* d_gate,
    void* d_up,
    std::int64_t n,
    DType dtype,
    void* stream);

// ---- cross-entropy rows (cuda/kernels/fused_cross_entropy.cu) ----

/// Rows of logits [rows, vocab] (`dtype`) against int64 targets [rows]: lse[r] = logsumexp(x[r])
/// and loss[r] = lse[r] - x[r, t[r]], both fused_stat_dtype(dtype) and 0 where t[r] ==
/// ignore_index. A target outside [0, vocab) gives NaN (callers check targets beforehand).
void launch_cross_entropy(
    const void* logits,
    const std::int64_t* target,
    std::int64_t ignore_index,
    void* loss,
    void* lse,
    std::int64_t rows,
    std::int64_t vocab,
    DType dtype,
    void* stream);

/// grad[r] = scale * (softmax(x[r]) - onehot(t[r])), 0 for ignored rows (NaN for a target
/// outside [0, vocab)). scale (fused_stat_dtype(dtype)) holds one value per row, or a single value for all rows
/// when !scale_per_row; lse as saved by launch_cross_entropy.
void launch_cross_entropy_backward(
    const void* logits,
    const std::int64_t* target,
    std::int64_t ignore_index,
    const void* lse,
    const void* scale,
    bool scale_per_row,
    void* grad,
    std::int64_t rows,
    std::int64_t vocab,
    DType dtype,
    void* stream);

// ---- Adam / AdamW (cuda/kernels/fused_adam.cu) ----

/// One parameter of a multi-tensor Adam step: contiguous param, grad and states of one dtype
/// (max_exp_avg_sq null unless amsgrad).
struct AdamTensor {
  void* param = nullptr;
  const void* grad = nullptr;
  void* exp_avg = nullptr;
  void* exp_avg_sq = nullptr;
  void* max_exp_avg_sq = nullptr;
  std::int64_t numel = 0;
};

/// Bytes of device scratch that launch_adam_step needs for `count` tensors (their table).
std::size_t adam_step_workspace_bytes(std::size_t count);

/// One Adam(W) step in place over `count` tensors of `dtype` in a single kernel launch, the CPU
/// kernel's per-element formula operation for operation (no contraction into FMAs), in float32
/// for 16-bit parameters and double for float64. The table of pointers and sizes is copied from
/// host memory into `workspace` (adam_step_workspace_bytes(count) device bytes) on `stream`; the
/// workspace must stay allocated until the kernel has run (stream order).
void launch_adam_step(
    const AdamTensor* tensors,
    std::size_t count,
    const AdamStepArgs& args,
    DType dtype,
    void* workspace,
    void* stream);

}  // namespace peftcpp::cuda
