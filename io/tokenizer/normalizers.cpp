// Normalizers: ports of tokenizers/src/normalizers/{unicode,bert,strip,replace,precompiled}.rs.
#include "io/tokenizer/normalizers.h"

#include <cstring>

#include "tensor/error.h"

namespace peftcpp::tok {

void UnicodeNormalizer::normalize(NormalizedString& s) const {
  switch (form_) {
    case UnicodeForm::NFC:
      s.nfc();
      break;
    case UnicodeForm::NFD:
      s.nfd();
      break;
    case UnicodeForm::NFKC:
      s.nfkc();
      break;
    case UnicodeForm::NFKD:
      s.nfkd();
      break;
  }
}

void StripAccentsNormalizer::normalize(NormalizedString& s) const {
  s.filter([](char32_t c) { return !is_combining_mark(c); });
}

void StripNormalizer::normalize(NormalizedString& s) const {
  if (left_ && right_) {
    s.strip();
  } else {
    if (left_)
      s.lstrip();
    if (right_)
      s.rstrip();
  }
}

namespace {

bool bert_is_whitespace(char32_t c) {
  return c == '\t' || c == '\n' || c == '\r' || is_whitespace(c);
}

bool bert_is_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r')
    return false;
  return is_other(c);
}

bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

}  // namespace

void BertNormalizer::normalize(NormalizedString& s) const {
  if (clean_text_) {
    s.filter([](char32_t c) { return !(c == 0 || c == 0xFFFD || bert_is_control(c)); });
    s.map([](char32_t c) { return bert_is_whitespace(c) ? U' ' : c; });
  }
  if (handle_chinese_chars_) {
    std::vector<CharChange> dest;
    const std::string& t = s.get();
    dest.reserve(t.size());
    bool any = false;
    size_t i = 0;
    while (i < t.size()) {
      const char32_t c = utf8_next(t, i);
      if (is_chinese_char(c)) {
        dest.push_back({U' ', 0});
        dest.push_back({c, 1});
        dest.push_back({U' ', 1});
        any = true;
      } else {
        dest.push_back({c, 0});
      }
    }
    if (any || !s.empty())
      s.transform(dest, 0);
  }
  if (strip_accents_.value_or(lowercase_)) {
    s.nfd();
    s.filter([](char32_t c) { return !is_mark_nonspacing(c); });
  }
  if (lowercase_)
    s.lowercase();
}

void ReplaceNormalizer::normalize(NormalizedString& s) const {
  thread_local std::vector<MatchSpan> matches;
  regex_matches(regex_, s.get(), false, matches);
  s.replace(matches, content_);
}

void ReplaceNormalizer::replace_in(std::string& token) const {
  std::vector<MatchSpan> matches;
  regex_matches(regex_, token, false, matches);
  std::string out;
  for (const auto& m : matches) {
    if (m.is_match) {
      out += content_;
    } else {
      out.append(token, m.start, m.end - m.start);
    }
  }
  token = std::move(out);
}

void NmtNormalizer::normalize(NormalizedString& s) const {
  s.filter([](char32_t c) {
    return !(
        (c >= 0x1 && c <= 0x8) || c == 0xB || (c >= 0xE && c <= 0x1F) || c == 0x7F || c == 0x8F ||
        c == 0x9F);
  });
  s.map([](char32_t c) -> char32_t {
    switch (c) {
      case 0x9:
      case 0xA:
      case 0xC:
      case 0xD:
      case 0x1680:
      case 0x2028:
      case 0x2029:
      case 0x2581:
      case 0xFEFF:
      case 0xFFFD:
        return U' ';
      default:
        return (c >= 0x200B && c <= 0x200F) ? U' ' : c;
    }
  });
}

PrecompiledNormalizer::PrecompiledNormalizer(std::string charsmap, const std::string& context) {
  auto fail = [&](const char* what) {
    throw ConfigError(
        detail::concat("[tokenizer] ", context, ": invalid precompiled_charsmap (", what, ")"));
  };
  if (charsmap.size() < 4)
    fail("shorter than its header");
  uint32_t trie_size = 0;
  for (int k = 3; k >= 0; --k)
    trie_size = (trie_size << 8) | static_cast<unsigned char>(charsmap[k]);
  const size_t units = trie_size / 4;
  if (charsmap.size() - 4 < units * 4)
    fail("trie larger than the blob");
  trie_.resize(units);
  for (size_t u = 0; u < units; ++u) {
    uint32_t v = 0;
    for (int k = 3; k >= 0; --k) {
      v = (v << 8) | static_cast<unsigned char>(charsmap[4 + u * 4 + static_cast<size_t>(k)]);
    }
    trie_[u] = v;
  }
  normalized_ = charsmap.substr(4 + units * 4);
  if (!is_valid_utf8(normalized_))
    fail("replacement strings are not UTF-8");
}

std::optional<std::string_view> PrecompiledNormalizer::transform(std::string_view chunk) const {
  auto offset = [](uint64_t u) -> uint64_t { return (u >> 10) << ((u & (1u << 9)) >> 6); };
  auto label = [](uint64_t u) -> uint64_t { return u & ((1ull << 31) | 0xFF); };
  auto has_leaf = [](uint64_t u) { return ((u >> 8) & 1) == 1; };
  auto value = [](uint64_t u) -> uint64_t { return u & ((1ull << 31) - 1); };
  if (trie_.empty())
    return std::nullopt;
  uint64_t node = 0;
  uint64_t unit = trie_[0];
  node ^= offset(unit);
  std::optional<uint64_t> first;
  for (char ch : chunk) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == 0)
      break;
    node ^= c;
    if (node >= trie_.size())
      break;
    unit = trie_[node];
    if (label(unit) != c)
      break;
    node ^= offset(unit);
    if (has_leaf(unit)) {
      if (node >= trie_.size())
        break;
      first = value(trie_[node]);
      break;  // only the first (shortest) result is used
    }
  }
  if (!first || *first > normalized_.size())
    return std::nullopt;
  const size_t start = static_cast<size_t>(*first);
  size_t stop = start;
  while (stop < normalized_.size() && normalized_[stop] != '\0') ++stop;
  const std::string_view out(normalized_.data() + start, stop - start);
  if (!is_valid_utf8(out))
    return std::nullopt;
  return out;
}

namespace {

void append_replacement(
    std::vector<CharChange>& t, std::string_view old_part, std::string_view new_part) {
  const auto old_count = static_cast<int64_t>(utf8_count(old_part));
  const auto new_count = static_cast<int64_t>(utf8_count(new_part));
  const int64_t diff = new_count - old_count;
  size_t i = 0;
  while (i < new_part.size()) t.push_back({utf8_next(new_part, i), 0});
  if (diff > 0) {
    for (int64_t k = 0; k < diff && static_cast<size_t>(k) < t.size(); ++k) {
      t[t.size() - 1 - static_cast<size_t>(k)].change = 1;
    }
  } else if (diff < 0 && !t.empty()) {
    t.back().change += static_cast<int32_t>(diff);
  }
}

}  // namespace

void PrecompiledNormalizer::normalize(NormalizedString& s) const {
  std::vector<CharChange> t;
  const std::string& text = s.get();
  t.reserve(text.size());
  bool modified = false;
  size_t pos = 0;
  for (size_t glen : grapheme_lengths(text)) {
    const std::string_view g(text.data() + pos, glen);
    pos += glen;
    if (g.size() < 6) {
      if (auto norm = transform(g)) {
        modified = true;
        append_replacement(t, g, *norm);
        continue;
      }
    }
    size_t i = 0;
    while (i < g.size()) {
      const size_t at = i;
      const char32_t c = utf8_next(g, i);
      const std::string_view part = g.substr(at, i - at);
      if (auto norm = transform(part)) {
        modified = true;
        append_replacement(t, part, *norm);
      } else {
        t.push_back({c, 0});
      }
    }
  }
  if (modified)
    s.transform(t, 0);
}

}  // namespace peftcpp::tok
