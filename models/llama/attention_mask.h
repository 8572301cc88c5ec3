// The additive attention bias of transformers' eager attention for the LLaMA family
// (_prepare_4d_causal_attention_mask_with_cache_position): a key is masked when it lies in the
// future of the query, outside the sliding window, or where the 2-D attention_mask is 0; masked
// entries hold the dtype's lowest finite value (not -inf), so a fully masked row attends
// uniformly to every key, exactly as transformers does.
#pragma once

#include <cstdint>
#include <optional>

#include "tensor/tensor.h"

namespace peftcpp::models::llama {

/// [B, 1, T, S] bias for T queries at positions past .. past+T-1 over S = past + T keys, or an
/// undefined tensor when nothing is masked (adding zeros would change nothing).
/// `attention_mask`: [B, S] (non-zero = attend) or undefined; `window`: keys with
/// query - key >= window are masked.
Tensor causal_attention_bias(
    const Tensor& attention_mask,
    std::int64_t batch,
    std::int64_t q_len,
    std::int64_t past,
    std::optional<std::int64_t> window,
    DType dtype);

}  // namespace peftcpp::models::llama
