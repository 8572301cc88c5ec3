// Oniguruma regular expressions with the match iteration of the Rust `onig` crate (internal).
//
// HF tokenizers compiles Split/Replace/ByteLevel patterns with Oniguruma (default syntax, UTF-8,
// no options) and walks them with `onig::Regex::find_iter`; `find_all` reproduces that walk,
// including how empty matches are skipped, so the splits are identical.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace peftcpp::tok {

class OnigRegex {
 public:
  /// Compiles `pattern`; throws ConfigError "[tokenizer] <context>: invalid regex ..." on failure.
  OnigRegex(std::string_view pattern, const std::string& context);
  ~OnigRegex();
  OnigRegex(const OnigRegex&) = delete;
  OnigRegex& operator=(const OnigRegex&) = delete;

  /// All non-overlapping matches [start, end) in bytes, in order (onig crate find_iter).
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;
  const std::string& pattern() const {
    return pattern_;
  }

 private:
  std::string pattern_;
  void* regex_ = nullptr;  // OnigRegex (a pointer type in oniguruma.h)
};

/// Escapes `literal` so that Oniguruma matches it verbatim (Rust `regex::escape` equivalent).
std::string regex_escape(std::string_view literal);

}  // namespace peftcpp::tok
