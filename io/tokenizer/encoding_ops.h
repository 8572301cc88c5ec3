// Operations on Encoding used by the pipeline: merge, truncate, pad (port of
// tokenizers/src/tokenizer/encoding.rs and utils/{truncation,padding}.rs; internal header).
// Overflowing pieces produced by truncation are not kept.
#pragma once

#include <vector>

#include "io/tokenizer/tokenizer.h"

namespace peftcpp::tok {

/// Sets every token's sequence id to `id` (Encoding::set_sequence_id).
void set_sequence_id(Encoding& e, int32_t id);
/// Appends `other` to `e` (Encoding::merge_with without growing offsets).
void merge_into(Encoding& e, const Encoding& other);
/// Keeps `max_len` tokens (Encoding::truncate); throws ValueError when stride >= max_len.
void truncate(Encoding& e, size_t max_len, size_t stride, TruncationDirection dir);
/// Applies `params` to a single encoding or to a pair (truncate_encodings).
void truncate_encodings(Encoding& e, Encoding* pair, const TruncationParams& params);
/// Pads to `target` tokens (Encoding::pad).
void pad(
    Encoding& e,
    size_t target,
    uint32_t pad_id,
    uint32_t pad_type_id,
    const std::string& pad_token,
    PaddingDirection dir);
/// pad_encodings: batch-longest or fixed length, then up to a multiple.
void pad_encodings(std::vector<Encoding>& encs, const PaddingParams& params);

}  // namespace peftcpp::tok
