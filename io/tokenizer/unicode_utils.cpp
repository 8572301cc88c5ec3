// Unicode helpers: utf8proc supplies the tables, the algorithms follow the Rust crates the
// HuggingFace tokenizers library is built on (see unicode_utils.h).
#include "io/tokenizer/unicode_utils.h"

#include <utf8proc.h>

#include <algorithm>
#include <optional>

namespace peftcpp::tok {

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string utf8_encode(char32_t c) {
  std::string s;
  append_utf8(s, c);
  return s;
}

std::u32string utf8_decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) out.push_back(utf8_next(s, i));
  return out;
}

size_t utf8_count(std::string_view s) {
  size_t n = 0;
  for (char ch : s) n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  return n;
}

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 with `bad_len` set to the length of the
// maximal invalid subpart (at least 1), following the Unicode "maximal subpart" practice that
// Rust's from_utf8_lossy uses.
size_t valid_seq_at(std::string_view s, size_t i, size_t& bad_len) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  bad_len = 1;
  if (b0 < 0x80)
    return 1;
  size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0)
      lo = 0xA0;
    if (b0 == 0xED)
      hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0)
      lo = 0x90;
    if (b0 == 0xF4)
      hi = 0x8F;
  } else {
    return 0;
  }
  for (size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) {
      bad_len = k;
      return 0;
    }
    const auto b = static_cast<unsigned char>(s[i + k]);
    const unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (b < l || b > h) {
      bad_len = k;
      return 0;
    }
  }
  return need + 1;
}

utf8proc_category_t category(char32_t c) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(c));
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  size_t i = 0, bad = 0;
  while (i < s.size()) {
    const size_t n = valid_seq_at(s, i, bad);
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0, bad = 0;
  while (i < bytes.size()) {
    const size_t n = valid_seq_at(bytes, i, bad);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      i += bad;
    } else {
      out.append(bytes.substr(i, n));
      i += n;
    }
  }
  return out;
}

bool is_whitespace(char32_t c) {
  if (c < 0x80)
    return c == ' ' || (c >= 0x09 && c <= 0x0D);
  switch (c) {
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

bool is_numeric(char32_t c) {
  if (c < 0x80)
    return c >= '0' && c <= '9';
  const auto cat = category(c);
  return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO;
}

bool is_punctuation(char32_t c) {
  const auto cat = category(c);
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

bool is_ascii_punctuation(char32_t c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
         (c >= 0x7B && c <= 0x7E);
}

bool is_other(char32_t c) {
  // unicode_categories 0.1.1 (used by BertNormalizer): Cc, Cf or Co only -- unassigned and
  // surrogate code points do not count -- with its Cf table (which lacks U+08E2 and later).
  if (c < 0x20 || (c >= 0x7F && c <= 0x9F))
    return true;
  if ((c >= 0xE000 && c <= 0xF8FF) || (c >= 0xF0000 && c <= 0xFFFFD) ||
      (c >= 0x100000 && c <= 0x10FFFD)) {
    return true;
  }
  switch (c) {
    case 0xAD:
    case 0x61C:
    case 0x6DD:
    case 0x70F:
    case 0x180E:
    case 0xFEFF:
    case 0x110BD:
    case 0xE0001:
      return true;
    default:
      break;
  }
  return (c >= 0x600 && c <= 0x605) || (c >= 0x200B && c <= 0x200F) ||
         (c >= 0x202A && c <= 0x202E) || (c >= 0x2060 && c <= 0x2064) ||
         (c >= 0x2066 && c <= 0x206F) || (c >= 0xFFF9 && c <= 0xFFFB) ||
         (c >= 0x1BCA0 && c <= 0x1BCA3) || (c >= 0x1D173 && c <= 0x1D17A) ||
         (c >= 0xE0020 && c <= 0xE007F);
}

bool is_mark_nonspacing(char32_t c) {
  return category(c) == UTF8PROC_CATEGORY_MN;
}

bool is_combining_mark(char32_t c) {
  const auto cat = category(c);
  return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC || cat == UTF8PROC_CATEGORY_ME;
}

bool is_word_char(char32_t c) {
  if (c < 0x80) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  }
  const auto cat = category(c);
  if (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_ND)
    return true;  // L*, M*, Nd
  if (cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_PC)
    return true;
  if (c == 0x200C || c == 0x200D)
    return true;  // Join_Control
  // Other_Alphabetic symbols (circled / squared Latin letters).
  return (c >= 0x24B6 && c <= 0x24E9) || (c >= 0x1F130 && c <= 0x1F149) ||
         (c >= 0x1F150 && c <= 0x1F169) || (c >= 0x1F170 && c <= 0x1F189);
}

int combining_class(char32_t c) {
  if (c < 0x300)
    return 0;
  return utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->combining_class;
}

void to_lowercase(char32_t c, std::u32string& out) {
  if (c < 0x80) {
    out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
  } else if (c == 0x130) {  // the one unconditional multi-character lowercase mapping
    out.push_back(U'i');
    out.push_back(0x307);
  } else {
    out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
  }
}

namespace {

void decompose_char(char32_t c, bool compat, std::vector<char32_t>& out) {
  if (c < 0xC0) {  // nothing below U+00C0 decomposes canonically; compat needs a look-up
    if (!compat || c < 0xA0) {
      out.push_back(c);
      return;
    }
  }
  utf8proc_int32_t buf[32];
  int boundclass = 0;
  const utf8proc_option_t opts =
      static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE | (compat ? UTF8PROC_COMPAT : 0));
  const auto n =
      utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), buf, 32, opts, &boundclass);
  if (n <= 0 || n > 32) {
    out.push_back(c);
    return;
  }
  for (utf8proc_ssize_t k = 0; k < n; ++k) out.push_back(static_cast<char32_t>(buf[k]));
}

// Primary composite of (a, b), as unicode-normalization's `compose`.
std::optional<char32_t> compose_pair(char32_t a, char32_t b) {
  if (b < 0x300)
    return std::nullopt;  // every second element of a composition is >= U+0300
  utf8proc_int32_t buf[2] = {static_cast<utf8proc_int32_t>(a), static_cast<utf8proc_int32_t>(b)};
  const auto n = utf8proc_normalize_utf32(
      buf, 2, static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE | UTF8PROC_STABLE));
  if (n == 1)
    return static_cast<char32_t>(buf[0]);
  return std::nullopt;
}

struct Decomposed {
  char32_t c;
  int32_t change;
  int ccc;
};

std::vector<Decomposed> decompose_all(std::string_view s, bool compat) {
  std::vector<Decomposed> out;
  out.reserve(s.size());
  std::vector<char32_t> tmp;
  size_t i = 0;
  size_t pending = 0;  // start of the run not yet sorted
  auto sort_pending = [&]() {
    std::stable_sort(
        out.begin() + static_cast<std::ptrdiff_t>(pending),
        out.end(),
        [](const Decomposed& x, const Decomposed& y) { return x.ccc < y.ccc; });
    pending = out.size();
  };
  while (i < s.size()) {
    const char32_t c = utf8_next(s, i);
    tmp.clear();
    decompose_char(c, compat, tmp);
    for (size_t k = 0; k < tmp.size(); ++k) {
      const int ccc = combining_class(tmp[k]);
      if (ccc == 0)
        sort_pending();
      out.push_back({tmp[k], k == 0 ? 0 : 1, ccc});
    }
  }
  sort_pending();
  return out;
}

}  // namespace

std::vector<CharChange> decompose_changes(std::string_view s, bool compat) {
  std::vector<CharChange> out;
  for (const auto& d : decompose_all(s, compat)) out.push_back({d.c, d.change});
  return out;
}

std::vector<CharChange> compose_changes(std::string_view s, bool compat) {
  const auto dec = decompose_all(s, compat);
  std::vector<CharChange> out;
  out.reserve(dec.size());
  std::optional<CharChange> composee;
  std::optional<int> last_ccc;
  std::vector<CharChange> buffer;
  for (const auto& d : dec) {
    const CharChange cur{d.c, d.change};
    if (!composee) {
      if (d.ccc != 0) {
        out.push_back(cur);
        continue;
      }
      composee = cur;
      continue;
    }
    const CharChange k = *composee;
    if (!last_ccc) {
      if (auto r = compose_pair(k.c, d.c)) {
        composee = CharChange{*r, k.change + d.change - 1};
        continue;
      }
      if (d.ccc == 0) {
        composee = cur;
        out.push_back(k);
        continue;
      }
      buffer.push_back(cur);
      last_ccc = d.ccc;
      continue;
    }
    if (*last_ccc >= d.ccc) {  // blocked from the composee
      if (d.ccc == 0) {
        composee = cur;
        last_ccc.reset();
        out.push_back(k);
        out.insert(out.end(), buffer.begin(), buffer.end());
        buffer.clear();
        continue;
      }
      buffer.push_back(cur);
      last_ccc = d.ccc;
      continue;
    }
    if (auto r = compose_pair(k.c, d.c)) {
      composee = CharChange{*r, k.change + d.change - 1};
      continue;
    }
    buffer.push_back(cur);
    last_ccc = d.ccc;
  }
  if (composee)
    out.push_back(*composee);
  out.insert(out.end(), buffer.begin(), buffer.end());
  return out;
}

std::vector<size_t> grapheme_lengths(std::string_view s) {
  std::vector<size_t> out;
  size_t i = 0, start = 0;
  utf8proc_int32_t state = 0;
  char32_t prev = 0;
  bool first = true;
  while (i < s.size()) {
    const size_t at = i;
    const char32_t c = utf8_next(s, i);
    if (!first &&
        utf8proc_grapheme_break_stateful(
            static_cast<utf8proc_int32_t>(prev), static_cast<utf8proc_int32_t>(c), &state)) {
      out.push_back(at - start);
      start = at;
    }
    first = false;
    prev = c;
  }
  if (i > start)
    out.push_back(i - start);
  return out;
}

}  // namespace peftcpp::tok
