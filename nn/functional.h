// torch.nn.functional for peftcpp: stateless layer math, losses and attention. Every function is
// differentiable through the autograd engine (float64 gradchecks in tests/nn).
//
// Shape legend: N batch, C channels / classes, L / S query / key length, E head dim, V vocab.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tensor/ops.h"

namespace peftcpp::nn::functional {

// ---- layers --------------------------------------------------------------------------------
/// y = x @ weight^T + bias; weight [out, in].
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());
/// Rows of `weight` [num, dim] picked by integer `ids` (any shape) -> ids.shape + [dim]. The
/// gradient row of `padding_idx` (if set; negative counts from the end) is zero.
Tensor embedding(
    const Tensor& ids,
    const Tensor& weight,
    std::optional<std::int64_t> padding_idx = std::nullopt);
/// Normalises over the trailing `normalized_shape` dims (biased variance), then * weight + bias
/// (either may be undefined). 16-bit inputs are computed in float32.
Tensor layer_norm(
    const Tensor& x,
    const Shape& normalized_shape,
    const Tensor& weight = Tensor(),
    const Tensor& bias = Tensor(),
    double eps = 1e-5);
/// LLaMA RMSNorm: weight * (x_f32 * rsqrt(mean(x_f32^2, -1) + eps)).to(x.dtype), as HF computes it.
Tensor rms_norm(const Tensor& x, const Tensor& weight = Tensor(), double eps = 1e-6);
/// Inverted dropout: zeroes elements with probability p and scales the rest by 1/(1-p); identity
/// when !training or p == 0. nullptr = default generator.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true, Generator* gen = nullptr);

/// Convolution padding: explicit sizes per spatial dim, or "same" / "valid" (PyTorch's strings).
struct ConvPadding {
  std::string mode = "explicit";             // "explicit", "same" or "valid"
  std::vector<std::int64_t> sizes;           // one per spatial dim (a single value applies to all)
  ConvPadding(int p = 0) : sizes{p} {}       // NOLINT: implicit from an int, as torch
  ConvPadding(std::int64_t p) : sizes{p} {}  // NOLINT
  ConvPadding(std::vector<std::int64_t> p) : sizes(std::move(p)) {}  // NOLINT
  ConvPadding(const char* m) : mode(m) {}                            // NOLINT
};

/// x [N, C_in, L] (or [C_in, L]), weight [C_out, C_in / groups, K], bias [C_out].
Tensor conv1d(
    const Tensor& x,
    const Tensor& weight,
    const Tensor& bias = Tensor(),
    std::int64_t stride = 1,
    const ConvPadding& padding = 0,
    std::int64_t dilation = 1,
    std::int64_t groups = 1);
/// x [N, C_in, H, W] (or [C_in, H, W]), weight [C_out, C_in / groups, KH, KW], bias [C_out].
/// stride / dilation: one value or {h, w}.
Tensor conv2d(
    const Tensor& x,
    const Tensor& weight,
    const Tensor& bias = Tensor(),
    const std::vector<std::int64_t>& stride = {1},
    const ConvPadding& padding = 0,
    const std::vector<std::int64_t>& dilation = {1},
    std::int64_t groups = 1);

// ---- activations (re-exported from the tensor core) ----------------------------------------
using peftcpp::gelu;
using peftcpp::log_softmax;
using peftcpp::relu;
using peftcpp::sigmoid;
using peftcpp::silu;
using peftcpp::softmax;
using peftcpp::tanh;
/// silu(gate) * up (SwiGLU's gating, LlamaMLP's act_fn(gate_proj(x)) * up_proj(x)): one fused
/// node where the backend has the kernel, the two ops otherwise.
Tensor silu_mul(const Tensor& gate, const Tensor& up);

// ---- losses --------------------------------------------------------------------------------
/// Cross entropy with class-index targets, as torch.nn.functional.cross_entropy: input [N, C] or
/// [N, C, d1, ...] (or [C] with a 0-d target), target int [N] / [N, d1, ...]. `weight` [C] rescales
/// classes; targets equal to `ignore_index` contribute nothing; "mean" divides by the summed
/// weight of the non-ignored targets (NaN when there are none). One fused autograd node
/// (log_softmax + nll + label smoothing).
Tensor cross_entropy(
    const Tensor& input,
    const Tensor& target,
    const Tensor& weight = Tensor(),
    std::int64_t ignore_index = -100,
    const std::string& reduction = "mean",
    double label_smoothing = 0.0);
/// (input - target)^2 reduced ("none", "mean", "sum"); shapes broadcast.
Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
/// Numerically stable BCE on logits, as torch: optional per-element `weight` and per-class
/// `pos_weight` (broadcast over the last dim).
Tensor binary_cross_entropy_with_logits(
    const Tensor& input,
    const Tensor& target,
    const Tensor& weight = Tensor(),
    const Tensor& pos_weight = Tensor(),
    const std::string& reduction = "mean");

// ---- attention -----------------------------------------------------------------------------
/// softmax(q k^T * scale + mask) v for q [..., Hq, L, E], k [..., Hkv, S, E], v [..., Hkv, S, Ev].
/// attn_mask: Bool (true = may attend) or float (added to the scores), broadcastable to
/// [..., L, S]. is_causal: query i attends to keys j <= i (top-left aligned, as torch; not with
/// a mask). scale defaults to 1/sqrt(E). enable_gqa repeats k/v heads to Hq (Hq % Hkv == 0), as
/// HF's repeat_kv. Dropout on the probabilities when dropout_p > 0.
Tensor scaled_dot_product_attention(
    const Tensor& q,
    const Tensor& k,
    const Tensor& v,
    const Tensor& attn_mask = Tensor(),
    double dropout_p = 0.0,
    bool is_causal = false,
    std::optional<double> scale = std::nullopt,
    bool enable_gqa = false,
    Generator* gen = nullptr);
/// [B, Hkv, S, E] -> [B, Hkv * n_rep, S, E], each kv head repeated n_rep times consecutively.
Tensor repeat_kv(const Tensor& x, std::int64_t n_rep);
/// HF rotate_half: cat(-x2, x1) over the last dim halves.
Tensor rotate_half(const Tensor& x);
/// (q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin); cos/sin [B, T, E] are
/// unsqueezed at `unsqueeze_dim` to broadcast over heads (q [B, H, T, E] with the default 1).
std::pair<Tensor, Tensor> apply_rotary_pos_emb(
    const Tensor& q,
    const Tensor& k,
    const Tensor& cos,
    const Tensor& sin,
    std::int64_t unsqueeze_dim = 1);

}  // namespace peftcpp::nn::functional

namespace peftcpp::nn {
namespace F = functional;
}  // namespace peftcpp::nn
