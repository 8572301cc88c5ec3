// UTF-8 and Unicode character helpers for the tokenizer pipeline (internal header).
//
// Character classes follow the definitions the HuggingFace `tokenizers` crate uses (Rust `char`
// methods, the `unicode_categories` crate, and `unicode-normalization-alignments`), computed from
// utf8proc's tables. Normalization (NFD/NFKD/NFC/NFKC) is a port of the alignment-tracking
// iterators of `unicode-normalization-alignments` 0.1.12: each output character carries a
// "change" (0 = replaces one input char, +1 = inserted, -n = replaces one and removes n more).
// Every string handed to these functions is valid UTF-8 (checked once when text enters encode()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace peftcpp::tok {

/// One character of a transformation, as `(char, isize)` in the Rust crate.
struct CharChange {
  char32_t c;
  int32_t change;
};

/// Byte length of the UTF-8 sequence that starts with `lead` (1 for continuation/invalid bytes).
inline size_t utf8_seq_len(unsigned char lead) {
  if (lead < 0x80)
    return 1;
  if ((lead >> 5) == 0x6)
    return 2;
  if ((lead >> 4) == 0xE)
    return 3;
  if ((lead >> 3) == 0x1E)
    return 4;
  return 1;
}

/// Decodes the code point at `s[i]` (valid UTF-8 assumed) and advances `i` past it.
inline char32_t utf8_next(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  const size_t n = utf8_seq_len(b0);
  char32_t c = n == 2 ? (b0 & 0x1F) : n == 3 ? (b0 & 0x0F) : (b0 & 0x07);
  for (size_t k = 1; k < n; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += n;
  return c;
}

/// Number of UTF-8 bytes needed for `c`.
inline size_t utf8_char_len(char32_t c) {
  return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

/// Appends the UTF-8 encoding of `c` to `out`.
void append_utf8(std::string& out, char32_t c);
/// UTF-8 encoding of one code point.
std::string utf8_encode(char32_t c);
/// Decodes a whole (valid) UTF-8 string into code points.
std::u32string utf8_decode(std::string_view s);
/// Number of code points in a valid UTF-8 string.
size_t utf8_count(std::string_view s);
/// True when `s` is well-formed UTF-8 (no surrogates, no overlongs).
bool is_valid_utf8(std::string_view s);
/// Rust `String::from_utf8_lossy`: each maximal invalid subsequence becomes one U+FFFD.
std::string utf8_lossy(std::string_view bytes);

// Character classes (Rust / HF tokenizers semantics).
bool is_whitespace(char32_t c);         // Rust char::is_whitespace (White_Space property)
bool is_numeric(char32_t c);            // Rust char::is_numeric (Nd, Nl, No)
bool is_punctuation(char32_t c);        // unicode_categories is_punctuation (P*)
bool is_ascii_punctuation(char32_t c);  // Rust char::is_ascii_punctuation
bool is_other(char32_t c);              // unicode_categories 0.1.1 is_other (see .cpp)
bool is_mark_nonspacing(char32_t c);    // Mn
bool is_combining_mark(char32_t c);     // Mn, Mc, Me
bool is_word_char(char32_t c);          // Rust regex \w (Unicode)
int combining_class(char32_t c);

/// Rust `char::to_lowercase` (full mapping: U+0130 becomes two characters).
void to_lowercase(char32_t c, std::u32string& out);

/// Normalization with per-character changes; `compat` selects NFKD/NFKC.
std::vector<CharChange> decompose_changes(std::string_view s, bool compat);
std::vector<CharChange> compose_changes(std::string_view s, bool compat);

/// Splits `s` into extended grapheme clusters; returns the byte lengths of the clusters.
std::vector<size_t> grapheme_lengths(std::string_view s);

}  // namespace peftcpp::tok
