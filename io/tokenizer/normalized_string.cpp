// NormalizedString: port of the alignment bookkeeping of tokenizers/src/tokenizer/normalizer.rs.
// The arithmetic (including its corner cases) follows the crate so that offsets match exactly.
#include "io/tokenizer/normalized_string.h"

#include <algorithm>

#include "io/tokenizer/onig_regex.h"
#include "tensor/error.h"

namespace peftcpp::tok {

namespace {

bool is_char_boundary(const std::string& s, size_t idx) {
  if (idx == s.size())
    return true;
  if (idx > s.size())
    return false;
  return (static_cast<unsigned char>(s[idx]) & 0xC0) != 0x80;
}

bool all_ascii(const std::string& s) {
  for (char ch : s) {
    if (static_cast<unsigned char>(ch) >= 0x80)
      return false;
  }
  return true;
}

[[noreturn]] void alignment_error() {
  throw ValueError("[tokenizer] normalizer produced an inconsistent alignment");
}

}  // namespace

void regex_matches(
    const OnigRegex& re, std::string_view inside, bool invert, std::vector<MatchSpan>& out) {
  out.clear();
  if (inside.empty()) {
    out.push_back({0, 0, invert});
    return;
  }
  thread_local std::vector<std::pair<size_t, size_t>> found;
  re.find_all(inside, found);
  size_t prev = 0;
  for (const auto& [s, e] : found) {
    if (prev != s)
      out.push_back({prev, s, invert});
    out.push_back({s, e, !invert});
    prev = e;
  }
  if (prev != inside.size())
    out.push_back({prev, inside.size(), invert});
}

NormalizedString::NormalizedString(std::string_view s, size_t shift)
    : normalized_(s), original_len_(s.size()), original_shift_(shift) {
  alignments_.resize(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const size_t n = utf8_seq_len(static_cast<unsigned char>(s[i]));
    const Align a{static_cast<uint32_t>(i), static_cast<uint32_t>(i + n)};
    for (size_t k = 0; k < n && i + k < s.size(); ++k) alignments_[i + k] = a;
    i += n;
  }
}

std::optional<Span> NormalizedString::original_to_normalized(size_t start, size_t end) const {
  if (start == end)
    return Span{start, end};
  if (start > end)
    return std::nullopt;
  std::optional<size_t> s, e;
  for (size_t i = 0; i < alignments_.size(); ++i) {
    const Align& a = alignments_[i];
    if (end < a.end)
      break;
    if (!s && start <= a.start && a.start != a.end)
      s = i;
    e = i + 1;
  }
  if (s && e)
    return Span{*s, *e};
  if (s)
    return Span{*s, *s};
  if (e)
    return Span{*e, *e};
  return std::nullopt;
}

std::optional<NormalizedString> NormalizedString::slice(size_t start, size_t end) const {
  if (!is_char_boundary(normalized_, start) || !is_char_boundary(normalized_, end)) {
    return std::nullopt;
  }
  const auto orig = normalized_to_original(start, end);
  if (!orig)
    return std::nullopt;
  if (start > end || end > alignments_.size())
    return std::nullopt;
  NormalizedString out;
  const size_t n_shift = orig->first;
  out.original_len_ = (orig->first <= orig->second && orig->second <= original_len_)
                          ? orig->second - orig->first
                          : 0;
  out.normalized_ = normalized_.substr(start, end - start);
  out.alignments_.reserve(end - start);
  const auto shift = static_cast<uint32_t>(n_shift);
  for (size_t i = start; i < end; ++i) {
    out.alignments_.push_back({alignments_[i].start - shift, alignments_[i].end - shift});
  }
  out.original_shift_ = original_shift_ + n_shift;
  return out;
}

void NormalizedString::transform_range(
    size_t start, size_t end, const std::vector<CharChange>& dest, size_t initial_offset) {
  if (start > end || end > normalized_.size())
    alignment_error();
  const std::string_view replaced(normalized_.data() + start, end - start);
  size_t rpos = 0;  // byte cursor in `replaced`
  auto next_replaced = [&]() -> size_t {
    if (rpos >= replaced.size())
      return 0;
    const size_t n = utf8_seq_len(static_cast<unsigned char>(replaced[rpos]));
    rpos += n;
    return n;
  };
  size_t initial_removed = 0;
  for (size_t k = 0; k < initial_offset; ++k) initial_removed += next_replaced();

  size_t offset = initial_removed + start;
  std::vector<Align> new_align;
  new_align.reserve(end - start + dest.size());
  std::string new_str;
  new_str.reserve(end - start + dest.size());
  for (const auto& [c, changes] : dest) {
    const size_t idx = offset;
    Align align{0, 0};
    if (changes > 0) {
      if (idx >= 1) {
        if (idx - 1 >= alignments_.size())
          alignment_error();
        align = alignments_[idx - 1];
      }
    } else {
      if (idx >= alignments_.size())
        alignment_error();
      align = alignments_[idx];
    }
    size_t replaced_size = 0;
    if (changes <= 0)
      replaced_size = next_replaced();
    size_t removed = 0;
    if (changes < 0) {
      for (int32_t k = 0; k < -changes; ++k) removed += next_replaced();
    }
    offset += replaced_size + removed;
    const size_t n = utf8_char_len(c);
    new_align.insert(new_align.end(), n, align);
    append_utf8(new_str, c);
  }
  alignments_.erase(
      alignments_.begin() + static_cast<std::ptrdiff_t>(start),
      alignments_.begin() + static_cast<std::ptrdiff_t>(end));
  alignments_.insert(
      alignments_.begin() + static_cast<std::ptrdiff_t>(start), new_align.begin(), new_align.end());
  normalized_.replace(start, end - start, new_str);
}

void NormalizedString::transform(const std::vector<CharChange>& dest, size_t initial_offset) {
  const auto range = original_to_normalized(0, original_len_);
  if (!range)
    return;
  transform_range(range->first, range->second, dest, initial_offset);
}

void NormalizedString::nfd() {
  if (all_ascii(normalized_) && first_alignment_nonempty())
    return;
  transform(decompose_changes(normalized_, false), 0);
}

void NormalizedString::nfkd() {
  if (all_ascii(normalized_) && first_alignment_nonempty())
    return;
  transform(decompose_changes(normalized_, true), 0);
}

void NormalizedString::nfc() {
  if (all_ascii(normalized_) && first_alignment_nonempty())
    return;
  transform(compose_changes(normalized_, false), 0);
}

void NormalizedString::nfkc() {
  if (all_ascii(normalized_) && first_alignment_nonempty())
    return;
  transform(compose_changes(normalized_, true), 0);
}

void NormalizedString::lowercase() {
  if (all_ascii(normalized_) && first_alignment_nonempty()) {
    for (char& ch : normalized_) {
      if (ch >= 'A' && ch <= 'Z')
        ch = static_cast<char>(ch + 32);
    }
    return;
  }
  std::vector<CharChange> dest;
  dest.reserve(normalized_.size());
  std::u32string low;
  size_t i = 0;
  while (i < normalized_.size()) {
    low.clear();
    to_lowercase(utf8_next(normalized_, i), low);
    for (size_t k = 0; k < low.size(); ++k) dest.push_back({low[k], k > 0 ? 1 : 0});
  }
  transform(dest, 0);
}

void NormalizedString::prepend(std::string_view s) {
  if (normalized_.empty())
    return;
  size_t i = 0;
  const char32_t next = utf8_next(normalized_, i);
  std::vector<CharChange> dest;
  size_t j = 0;
  bool first = true;
  while (j < s.size()) {
    dest.push_back({utf8_next(s, j), first ? 0 : 1});
    first = false;
  }
  dest.push_back({next, 1});
  transform_range(0, i, dest, 0);
}

void NormalizedString::append(std::string_view s) {
  std::vector<CharChange> dest;
  size_t start = 0;
  if (!normalized_.empty()) {
    size_t b = normalized_.size() - 1;
    while (b > 0 && (static_cast<unsigned char>(normalized_[b]) & 0xC0) == 0x80) --b;
    size_t i = b;
    dest.push_back({utf8_next(normalized_, i), 0});
    start = b;
  }
  size_t j = 0;
  while (j < s.size()) dest.push_back({utf8_next(s, j), 1});
  transform_range(start, normalized_.size(), dest, 0);
}

void NormalizedString::lstrip() {
  lrstrip(true, false);
}
void NormalizedString::rstrip() {
  lrstrip(false, true);
}
void NormalizedString::strip() {
  lrstrip(true, true);
}

void NormalizedString::lrstrip(bool left, bool right) {
  const std::u32string chars = utf8_decode(normalized_);
  size_t leading = 0, trailing = 0;
  if (left) {
    while (leading < chars.size() && is_whitespace(chars[leading])) ++leading;
  }
  if (right) {
    while (trailing < chars.size() && is_whitespace(chars[chars.size() - 1 - trailing])) {
      ++trailing;
    }
  }
  if (leading == 0 && trailing == 0)
    return;
  const size_t count = chars.size();
  // The crate compares a char index with the *byte* length here; kept for identical results.
  const auto last_kept =
      static_cast<long long>(normalized_.size()) - static_cast<long long>(trailing) - 1;
  std::vector<CharChange> dest;
  for (size_t i = 0; i < count; ++i) {
    if (i < leading || i + trailing >= count)
      continue;
    if (static_cast<long long>(i) == last_kept) {
      dest.push_back({chars[i], -static_cast<int32_t>(trailing)});
    } else {
      dest.push_back({chars[i], 0});
    }
  }
  transform(dest, leading);
}

void NormalizedString::replace(const std::vector<MatchSpan>& matches, std::string_view content) {
  std::string new_norm;
  new_norm.reserve(normalized_.size());
  std::vector<Align> new_align;
  new_align.reserve(alignments_.size());
  size_t last_end = 0;
  for (const auto& m : matches) {
    if (!m.is_match)
      continue;
    if (m.start < last_end || m.end > normalized_.size() || m.start > m.end)
      alignment_error();
    new_norm.append(normalized_, last_end, m.start - last_end);
    new_align.insert(
        new_align.end(),
        alignments_.begin() + static_cast<std::ptrdiff_t>(last_end),
        alignments_.begin() + static_cast<std::ptrdiff_t>(m.start));
    // Every inserted character is aligned like the last byte of the match (offset = m.end).
    Align align{0, 0};
    if (m.end >= 1)
      align = alignments_[m.end - 1];
    size_t j = 0;
    while (j < content.size()) {
      const size_t at = j;
      const char32_t c = utf8_next(content, j);
      new_align.insert(new_align.end(), utf8_char_len(c), align);
      new_norm.append(content, at, j - at);
    }
    last_end = m.end;
  }
  new_norm.append(normalized_, last_end, std::string::npos);
  new_align.insert(
      new_align.end(),
      alignments_.begin() + static_cast<std::ptrdiff_t>(last_end),
      alignments_.end());
  normalized_ = std::move(new_norm);
  alignments_ = std::move(new_align);
}

void NormalizedString::split_spans(
    const std::vector<MatchSpan>& matches, SplitBehavior behavior, std::vector<Span>& out) {
  out.clear();
  struct Piece {
    size_t start, end;
    bool remove;
  };
  thread_local std::vector<Piece> splits;
  splits.clear();
  switch (behavior) {
    case SplitBehavior::Isolated:
      for (const auto& m : matches) splits.push_back({m.start, m.end, false});
      break;
    case SplitBehavior::Removed:
      for (const auto& m : matches) splits.push_back({m.start, m.end, m.is_match});
      break;
    case SplitBehavior::Contiguous: {
      bool prev = false;
      for (const auto& m : matches) {
        if (m.is_match == prev && !splits.empty()) {
          splits.back().end = m.end;
        } else {
          splits.push_back({m.start, m.end, false});
        }
        prev = m.is_match;
      }
      break;
    }
    case SplitBehavior::MergedWithPrevious: {
      bool prev = false;
      for (const auto& m : matches) {
        if (m.is_match && !prev && !splits.empty()) {
          splits.back().end = m.end;
        } else {
          splits.push_back({m.start, m.end, false});
        }
        prev = m.is_match;
      }
      break;
    }
    case SplitBehavior::MergedWithNext: {
      bool prev = false;
      for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
        if (it->is_match && !prev && !splits.empty()) {
          splits.back().start = it->start;
        } else {
          splits.push_back({it->start, it->end, false});
        }
        prev = it->is_match;
      }
      std::reverse(splits.begin(), splits.end());
      break;
    }
  }
  for (const auto& p : splits) {
    if (!p.remove)
      out.emplace_back(p.start, p.end);
  }
}

std::vector<NormalizedString> NormalizedString::split(
    const std::vector<MatchSpan>& matches, SplitBehavior behavior) const {
  thread_local std::vector<Span> spans;
  split_spans(matches, behavior, spans);
  std::vector<NormalizedString> out;
  out.reserve(spans.size());
  for (const auto& [start, end] : spans) {
    auto s = slice(start, end);
    if (!s)
      throw ValueError("[tokenizer] NormalizedString bad split");
    out.push_back(std::move(*s));
  }
  return out;
}

}  // namespace peftcpp::tok
