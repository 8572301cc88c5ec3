// Autograd wrappers of the backends' fused training kernels (Backend::has_fused). Internal to nn:
// the public functions (rms_norm, apply_rotary_pos_emb, silu_mul, cross_entropy) call these when
// the backend has the kernel for the dtype and compose the same math from smaller ops otherwise.
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace peftcpp::nn::functional::fused {

/// weight * x * rsqrt(mean(x^2, -1) + eps); weight may be undefined; x and weight share a dtype.
Tensor fused_rms_norm(const Tensor& x, const Tensor& weight, double eps);
/// x * cos + rotate_half(x) * sin for x [B, H, T, D] and cos, sin [B or 1, T, D]; the result is
/// contiguous. cos and sin get no gradient (they are position tables).
Tensor fused_rotary(const Tensor& x, const Tensor& cos, const Tensor& sin);
/// silu(gate) * up for equal shapes and dtypes.
Tensor fused_silu_mul(const Tensor& gate, const Tensor& up);
/// Per-row loss [M] (reduction none) or the mean over non-ignored rows / the sum, of logits
/// [M, C] against int64 targets [M] already checked to be in range or ignore_index.
Tensor fused_cross_entropy(const Tensor& logits, const Tensor& target, std::int64_t ignore_index, int reduction);

}  // namespace peftcpp::nn::functional::fused
