// NormalizedString's byte-level mapping (the ByteLevel pre-tokenizer / normalizer): each byte
// becomes one character of the GPT-2 printable alphabet and keeps the alignment of the input
// character it belongs to, which is what the crate's transform() produces for that mapping.
#include <algorithm>

#include "io/tokenizer/normalized_string.h"
#include "tensor/error.h"

namespace peftcpp::tok {

namespace {

// The 256 printable stand-ins of the GPT-2 byte-level alphabet, UTF-8 encoded.
struct ByteLevelTable {
  char bytes[256][2];
  uint8_t len[256];
  ByteLevelTable() {
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const char32_t c = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
      std::string s = utf8_encode(c);
      len[b] = static_cast<uint8_t>(s.size());
      bytes[b][0] = s[0];
      bytes[b][1] = s.size() > 1 ? s[1] : 0;
    }
  }
};

const ByteLevelTable& byte_level_table() {
  static const ByteLevelTable t;
  return t;
}

bool is_char_boundary(const std::string& s, size_t idx) {
  if (idx == s.size())
    return true;
  if (idx > s.size())
    return false;
  return (static_cast<unsigned char>(s[idx]) & 0xC0) != 0x80;
}

}  // namespace

void NormalizedString::byte_level_transform() {
  const auto& t = byte_level_table();
  if (!first_alignment_nonempty()) {
    std::vector<CharChange> dest;
    dest.reserve(normalized_.size());
    size_t i = 0;
    while (i < normalized_.size()) {
      const size_t n = utf8_seq_len(static_cast<unsigned char>(normalized_[i]));
      for (size_t k = 0; k < n; ++k) {
        size_t p = 0;
        const std::string_view sv(
            t.bytes[static_cast<unsigned char>(normalized_[i + k])],
            t.len[static_cast<unsigned char>(normalized_[i + k])]);
        dest.push_back({utf8_next(sv, p), k > 0 ? 1 : 0});
      }
      i += n;
    }
    transform(dest, 0);
    return;
  }
  // Fast path, same result as the transform above: each output character takes the alignment of
  // the input character its byte came from.
  std::string out;
  out.reserve(normalized_.size() * 2);
  std::vector<Align> al;
  al.reserve(normalized_.size() * 2);
  for (size_t i = 0; i < normalized_.size(); ++i) {
    const auto b = static_cast<unsigned char>(normalized_[i]);
    out.append(t.bytes[b], t.len[b]);
    al.insert(al.end(), t.len[b], alignments_[i]);
  }
  normalized_ = std::move(out);
  alignments_ = std::move(al);
}

std::optional<NormalizedString> NormalizedString::slice_byte_level(size_t start, size_t end) const {
  if (start >= end || end > alignments_.size() ||
      alignments_[start].start == alignments_[start].end || !is_char_boundary(normalized_, start) ||
      !is_char_boundary(normalized_, end)) {
    auto s = slice(start, end);
    if (s)
      s->byte_level_transform();
    return s;
  }
  // The slice covers everything (non-empty first alignment), so its byte-level transform is the
  // per-byte mapping below; shifts as in slice().
  const auto& t = byte_level_table();
  NormalizedString out;
  const uint32_t shift = alignments_[start].start;
  const uint32_t orig_end = alignments_[end - 1].end;
  out.original_len_ = (shift <= orig_end && orig_end <= original_len_) ? orig_end - shift : 0;
  out.original_shift_ = original_shift_ + shift;
  out.normalized_.reserve((end - start) * 2);
  out.alignments_.reserve((end - start) * 2);
  for (size_t i = start; i < end; ++i) {
    const auto b = static_cast<unsigned char>(normalized_[i]);
    out.normalized_.append(t.bytes[b], t.len[b]);
    const Align a{alignments_[i].start - shift, alignments_[i].end - shift};
    out.alignments_.push_back(a);
    if (t.len[b] == 2)
      out.alignments_.push_back(a);
  }
  return out;
}

}  // namespace peftcpp::tok
