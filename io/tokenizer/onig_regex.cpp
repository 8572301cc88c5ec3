// Oniguruma wrapper: compile once, search many times (regex objects are read-only while
// searching, so one compiled pattern is shared by all threads).
#include "io/tokenizer/onig_regex.h"

#include <oniguruma.h>

#include <mutex>

#include "io/tokenizer/unicode_utils.h"
#include "tensor/error.h"

namespace peftcpp::tok {

namespace {

void init_oniguruma() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encs[1] = {ONIG_ENCODING_UTF8};
    onig_initialize(encs, 1);
  });
}

struct RegionDeleter {
  void operator()(OnigRegion* r) const {
    onig_region_free(r, 1);
  }
};

}  // namespace

OnigRegex::OnigRegex(std::string_view pattern, const std::string& context) : pattern_(pattern) {
  init_oniguruma();
  ::OnigRegex re = nullptr;
  OnigErrorInfo einfo;
  const auto* p = reinterpret_cast<const OnigUChar*>(pattern_.data());
  const int rc = onig_new(
      &re,
      p,
      p + pattern_.size(),
      ONIG_OPTION_NONE,
      ONIG_ENCODING_UTF8,
      ONIG_SYNTAX_DEFAULT,
      &einfo);
  if (rc != ONIG_NORMAL) {
    OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(msg, rc, &einfo);
    throw ConfigError(detail::concat(
        "[tokenizer] ",
        context,
        ": invalid regex '",
        pattern_,
        "': ",
        reinterpret_cast<const char*>(msg)));
  }
  regex_ = re;
}

OnigRegex::~OnigRegex() {
  if (regex_ != nullptr)
    onig_free(static_cast<::OnigRegex>(regex_));
}

void OnigRegex::find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const {
  out.clear();
  std::unique_ptr<OnigRegion, RegionDeleter> region(onig_region_new());
  const auto* begin = reinterpret_cast<const OnigUChar*>(text.data());
  const auto* end = begin + text.size();
  size_t last_end = 0;
  bool have_last = false;
  size_t last_match_end = 0;
  while (last_end <= text.size()) {
    onig_region_clear(region.get());
    const int r = onig_search(
        static_cast<::OnigRegex>(regex_),
        begin,
        end,
        begin + last_end,
        end,
        region.get(),
        ONIG_OPTION_NONE);
    if (r < 0)
      break;  // ONIG_MISMATCH or an error: no more matches
    const auto s = static_cast<size_t>(region->beg[0]);
    const auto e = static_cast<size_t>(region->end[0]);
    if (s == e && have_last && last_match_end == e) {
      // An empty match right after the previous match: step over one character.
      last_end +=
          last_end < text.size() ? utf8_seq_len(static_cast<unsigned char>(text[last_end])) : 1;
      continue;
    }
    last_end = e;
    have_last = true;
    last_match_end = e;
    out.emplace_back(s, e);
  }
}

std::string regex_escape(std::string_view literal) {
  // Every ASCII character other than letters, digits and '_' is written as \xHH, which
  // Oniguruma always reads as that literal character (no operator is spelled \xHH).
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(literal.size() * 2);
  for (char ch : literal) {
    const auto u = static_cast<unsigned char>(ch);
    const bool plain = u >= 0x80 || (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') ||
                       (u >= 'A' && u <= 'Z') || u == '_';
    if (plain) {
      out.push_back(ch);
    } else {
      out += "\\x";
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 0xF]);
    }
  }
  return out;
}

}  // namespace peftcpp::tok
