// Encoding merge / truncate / pad, following the crate's arithmetic exactly.
#include "io/tokenizer/encoding_ops.h"

#include <algorithm>

#include "tensor/error.h"

namespace peftcpp::tok {

void set_sequence_id(Encoding& e, int32_t id) {
  e.sequence_ids.assign(e.ids.size(), id);
}

void merge_into(Encoding& e, const Encoding& o) {
  e.ids.insert(e.ids.end(), o.ids.begin(), o.ids.end());
  e.tokens.insert(e.tokens.end(), o.tokens.begin(), o.tokens.end());
  e.offsets.insert(e.offsets.end(), o.offsets.begin(), o.offsets.end());
  e.type_ids.insert(e.type_ids.end(), o.type_ids.begin(), o.type_ids.end());
  e.special_tokens_mask.insert(
      e.special_tokens_mask.end(), o.special_tokens_mask.begin(), o.special_tokens_mask.end());
  e.attention_mask.insert(e.attention_mask.end(), o.attention_mask.begin(), o.attention_mask.end());
  e.word_ids.insert(e.word_ids.end(), o.word_ids.begin(), o.word_ids.end());
  e.sequence_ids.insert(e.sequence_ids.end(), o.sequence_ids.begin(), o.sequence_ids.end());
}

namespace {
template <class T>
void keep_range(std::vector<T>& v, size_t start, size_t stop) {
  v.erase(v.begin() + static_cast<std::ptrdiff_t>(stop), v.end());
  v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(start));
}
}  // namespace

void truncate(Encoding& e, size_t max_len, size_t stride, TruncationDirection dir) {
  const size_t len = e.ids.size();
  if (max_len >= len)
    return;
  if (max_len == 0) {
    e = Encoding{};
    return;
  }
  if (stride >= max_len) {
    throw ValueError(detail::concat(
        "[tokenizer] truncation: stride ",
        stride,
        " must be smaller than the effective max length ",
        max_len));
  }
  // Truncation loses the sequence ranges in the crate.
  e.sequence_ids.assign(len, -1);
  const size_t start = dir == TruncationDirection::Right ? 0 : len - max_len;
  const size_t stop = start + max_len;
  keep_range(e.ids, start, stop);
  keep_range(e.tokens, start, stop);
  keep_range(e.offsets, start, stop);
  keep_range(e.type_ids, start, stop);
  keep_range(e.special_tokens_mask, start, stop);
  keep_range(e.attention_mask, start, stop);
  keep_range(e.word_ids, start, stop);
  keep_range(e.sequence_ids, start, stop);
}

void truncate_encodings(Encoding& e, Encoding* pair, const TruncationParams& p) {
  if (p.max_length == 0) {
    truncate(e, 0, p.stride, p.direction);
    if (pair != nullptr)
      truncate(*pair, 0, p.stride, p.direction);
    return;
  }
  const size_t total = e.ids.size() + (pair != nullptr ? pair->ids.size() : 0);
  if (total <= p.max_length)
    return;
  const size_t to_remove = total - p.max_length;
  if (p.strategy == TruncationStrategy::LongestFirst) {
    if (pair == nullptr) {
      truncate(e, total - to_remove, p.stride, p.direction);
      return;
    }
    size_t n1 = e.ids.size(), n2 = pair->ids.size();
    const bool swap = n1 > n2;
    if (swap)
      std::swap(n1, n2);
    if (n1 > p.max_length) {
      n2 = n1;
    } else {
      n2 = std::max(n1, p.max_length - n1);
    }
    if (n1 + n2 > p.max_length) {
      n1 = p.max_length / 2;
      n2 = n1 + p.max_length % 2;
    }
    if (swap)
      std::swap(n1, n2);
    truncate(e, n1, p.stride, p.direction);
    truncate(*pair, n2, p.stride, p.direction);
    return;
  }
  Encoding* target = p.strategy == TruncationStrategy::OnlyFirst ? &e : pair;
  if (target == nullptr) {
    throw ValueError("[tokenizer] truncation: only_second needs a second sequence");
  }
  const size_t tlen = target->ids.size();
  if (tlen <= to_remove) {
    throw ValueError(detail::concat(
        "[tokenizer] truncation: sequence of ",
        tlen,
        " tokens is too short to remove ",
        to_remove));
  }
  truncate(*target, tlen - to_remove, p.stride, p.direction);
}

void pad(
    Encoding& e,
    size_t target,
    uint32_t pad_id,
    uint32_t pad_type_id,
    const std::string& pad_token,
    PaddingDirection dir) {
  if (e.ids.size() >= target)
    return;
  const size_t n = target - e.ids.size();
  auto add = [&](auto& v, const auto& value) {
    using T = typename std::decay_t<decltype(v)>::value_type;
    if (dir == PaddingDirection::Left) {
      v.insert(v.begin(), n, static_cast<T>(value));
    } else {
      v.insert(v.end(), n, static_cast<T>(value));
    }
  };
  add(e.ids, pad_id);
  add(e.type_ids, pad_type_id);
  add(e.tokens, pad_token);
  add(e.word_ids, -1);
  add(e.attention_mask, 0u);
  add(e.special_tokens_mask, 1u);
  add(e.offsets, std::pair<size_t, size_t>(0, 0));
  add(e.sequence_ids, -1);
}

void pad_encodings(std::vector<Encoding>& encs, const PaddingParams& p) {
  if (encs.empty())
    return;
  size_t len = p.fixed_length;
  if (p.strategy == PaddingStrategy::BatchLongest) {
    len = 0;
    for (const auto& e : encs) len = std::max(len, e.ids.size());
  }
  if (p.pad_to_multiple_of > 0 && len % p.pad_to_multiple_of > 0) {
    len += p.pad_to_multiple_of - len % p.pad_to_multiple_of;
  }
  for (auto& e : encs) pad(e, len, p.pad_id, p.pad_type_id, p.pad_token, p.direction);
}

}  // namespace peftcpp::tok
