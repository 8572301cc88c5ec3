// NormalizedString: a piece of text being normalized, with the alignment of every normalized
// byte to a span of the original text (internal header).
//
// Port of tokenizers/src/tokenizer/normalizer.rs (crate 0.22.2). Invariants, as in the crate:
//  - `alignments_[i]` is the [start, end) byte span, in this piece's own original text, of the
//    original character that normalized byte `i` comes from; all bytes of one normalized
//    character share one alignment.
//  - `original_shift_` is where this piece's original text starts in the whole input.
// Only the length of the original text is kept: no operation here needs its bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/tokenizer/unicode_utils.h"

namespace peftcpp::tok {

struct Align {
  uint32_t start;
  uint32_t end;
  bool operator==(const Align&) const = default;
};

using Span = std::pair<size_t, size_t>;

/// A piece of a pattern search: [start, end) in bytes and whether it is a match.
struct MatchSpan {
  size_t start;
  size_t end;
  bool is_match;
};

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

/// Pattern::find_matches for a regex: the matches and the gaps between them.
void regex_matches(
    const class OnigRegex& re, std::string_view inside, bool invert, std::vector<MatchSpan>& out);

/// Pattern::find_matches for a character predicate (each matching char is its own match).
template <class Pred>
void char_matches(std::string_view inside, Pred&& pred, std::vector<MatchSpan>& out) {
  out.clear();
  if (inside.empty()) {
    out.push_back({0, 0, false});
    return;
  }
  size_t last_offset = 0, i = 0;
  while (i < inside.size()) {
    const size_t b = i;
    const char32_t c = utf8_next(inside, i);
    if (pred(c)) {
      if (last_offset < b)
        out.push_back({last_offset, b, false});
      out.push_back({b, i, true});
      last_offset = i;
    }
  }
  if (inside.size() > last_offset)
    out.push_back({last_offset, inside.size(), false});
}

inline void invert_matches(std::vector<MatchSpan>& m) {
  for (auto& s : m) s.is_match = !s.is_match;
}

class NormalizedString {
 public:
  NormalizedString() = default;
  /// A piece whose normalized and original text are both `s`, starting at `shift` in the input.
  explicit NormalizedString(std::string_view s, size_t shift = 0);

  const std::string& get() const {
    return normalized_;
  }
  size_t len() const {
    return normalized_.size();
  }
  bool empty() const {
    return normalized_.empty();
  }
  size_t len_original() const {
    return original_len_;
  }
  Span offsets_original() const {
    return {original_shift_, original_shift_ + original_len_};
  }
  const std::vector<Align>& alignments() const {
    return alignments_;
  }

  /// Range::Normalized -> original range (relative to this piece), as convert_offsets.
  std::optional<Span> normalized_to_original(size_t start, size_t end) const {
    if (start == end)
      return Span{start, end};
    if (start > end || end > alignments_.size())
      return std::nullopt;
    return Span{alignments_[start].start, alignments_[end - 1].end};
  }
  /// Range::Original -> normalized range, as convert_offsets.
  std::optional<Span> original_to_normalized(size_t start, size_t end) const;

  /// The sub-piece for normalized bytes [start, end); nullopt when not on char boundaries.
  std::optional<NormalizedString> slice(size_t start, size_t end) const;

  /// Replaces normalized bytes [start, end) by `dest` (transform_range with a Normalized range).
  void transform_range(
      size_t start, size_t end, const std::vector<CharChange>& dest, size_t initial_offset);
  /// transform_range over the whole original range (NormalizedString::transform).
  void transform(const std::vector<CharChange>& dest, size_t initial_offset);

  void nfd();
  void nfkd();
  void nfc();
  void nfkc();
  void lowercase();
  void prepend(std::string_view s);
  void append(std::string_view s);
  void lstrip();
  void rstrip();
  void strip();
  /// Keeps the characters for which `keep(c)` is true.
  template <class Pred>
  void filter(Pred&& keep);
  /// Maps every character (a 1:1 replacement).
  template <class Fn>
  void map(Fn&& fn);
  /// Replaces every match by `content` (the fast path of NormalizedString::replace).
  void replace(const std::vector<MatchSpan>& matches, std::string_view content);
  /// Splits along `matches` (from a Pattern search of get()) with the given behaviour.
  std::vector<NormalizedString> split(
      const std::vector<MatchSpan>& matches, SplitBehavior behavior) const;
  /// The [start, end) pieces that split() keeps, in order.
  static void split_spans(
      const std::vector<MatchSpan>& matches, SplitBehavior behavior, std::vector<Span>& out);
  /// ByteLevel: every byte becomes its printable stand-in character (alignments kept per char).
  void byte_level_transform();
  /// slice(start, end) followed by byte_level_transform(), in one pass when possible.
  std::optional<NormalizedString> slice_byte_level(size_t start, size_t end) const;

 private:
  void lrstrip(bool left, bool right);
  // True when transform() covers the whole normalized string (the first alignment is not
  // empty), so an identity rewrite can be skipped: the crate's transform would reproduce the
  // same alignments.
  bool first_alignment_nonempty() const {
    return !alignments_.empty() && alignments_.front().start != alignments_.front().end;
  }

  std::string normalized_;
  std::vector<Align> alignments_;
  size_t original_len_ = 0;
  size_t original_shift_ = 0;
};

template <class Pred>
void NormalizedString::filter(Pred&& keep) {
  int32_t removed = 0;
  size_t removed_start = 0;
  std::vector<CharChange> transforms;
  transforms.reserve(normalized_.size());
  bool have_last = false;
  char32_t last_c = 0;
  size_t i = 0;
  while (i < normalized_.size()) {
    const char32_t c = utf8_next(normalized_, i);
    if (keep(c)) {
      if (have_last) {
        transforms.push_back({last_c, -removed});
      } else {
        removed_start = static_cast<size_t>(removed);
      }
      have_last = true;
      last_c = c;
      removed = 0;
    } else {
      ++removed;
    }
  }
  if (have_last)
    transforms.push_back({last_c, -removed});
  transform(transforms, removed_start);
}

template <class Fn>
void NormalizedString::map(Fn&& fn) {
  std::vector<CharChange> transforms;
  transforms.reserve(normalized_.size());
  size_t i = 0;
  while (i < normalized_.size()) transforms.push_back({fn(utf8_next(normalized_, i)), 0});
  transform(transforms, 0);
}

}  // namespace peftcpp::tok
