// transformers' logits processors and warpers used by generate(), on float32 scores [B, V]:
// repetition penalty, temperature, top-k and top-p, applied in transformers' order, plus the
// seeded sampler. Each function returns a new tensor and leaves its input untouched.
#pragma once

#include <cstdint>

#include "tensor/ops/random.h"
#include "tensor/tensor.h"

namespace peftcpp::models {

/// RepetitionPenaltyLogitsProcessor: for every token id in `sequences` [B, L] (prompt, padding
/// and generated tokens alike), its score s becomes s * penalty when s < 0, else s / penalty.
Tensor repetition_penalty(const Tensor& scores, const Tensor& sequences, double penalty);
/// TemperatureLogitsWarper: scores / temperature (temperature > 0).
Tensor temperature_warp(const Tensor& scores, double temperature);
/// TopKLogitsWarper: scores below the k-th largest of their row become -inf (ties with the
/// k-th value are kept); k is clamped to [min_tokens_to_keep, V].
Tensor top_k_filter(const Tensor& scores, std::int64_t top_k, std::int64_t min_tokens_to_keep = 1);
/// TopPLogitsWarper: keeps the smallest set of highest-probability tokens whose probability mass
/// exceeds top_p (at least min_tokens_to_keep); the rest become -inf.
Tensor top_p_filter(const Tensor& scores, double top_p, std::int64_t min_tokens_to_keep = 1);

/// One token per row drawn from softmax(scores) (rows of -inf only never occur after the
/// warpers) by inverse-CDF sampling with uniforms from `gen`: int64 [B].
Tensor sample_from_scores(const Tensor& scores, Generator& gen);

}  // namespace peftcpp::models
