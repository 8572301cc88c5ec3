// Oniguruma (Python syntax) behind pyre::fullmatch / pyre::match, with a process-wide cache.
#include "peft/utils/regex.h"

#include <oniguruma.h>

#include <map>
#include <memory>
#include <mutex>

#include "tensor/error.h"

namespace peftcpp::pyre {
namespace {

struct Compiled {
  OnigRegex regex = nullptr;
  ~Compiled() {
    if (regex != nullptr)
      onig_free(regex);
  }
};

struct RegionDeleter {
  void operator()(OnigRegion* r) const {
    onig_region_free(r, 1);
  }
};

std::mutex& cache_mutex() {
  static std::mutex m;
  return m;
}

// Compiled patterns by source text. fullmatch wraps the pattern as (?:pattern)\Z so that
// onig_match only accepts matches that cover the whole text (Python's fullmatch backtracks
// into alternatives until the whole string matches; the \Z anchor makes Oniguruma do the same).
OnigRegex compiled(const std::string& pattern, std::string_view what) {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encs[1] = {ONIG_ENCODING_UTF8};
    onig_initialize(encs, 1);
  });
  static std::map<std::string, std::unique_ptr<Compiled>> cache;
  std::lock_guard<std::mutex> lock(cache_mutex());
  auto it = cache.find(pattern);
  if (it != cache.end())
    return it->second->regex;
  auto c = std::make_unique<Compiled>();
  OnigErrorInfo einfo;
  const auto* p = reinterpret_cast<const OnigUChar*>(pattern.data());
  const int rc = onig_new(
      &c->regex,
      p,
      p + pattern.size(),
      ONIG_OPTION_NONE,
      ONIG_ENCODING_UTF8,
      ONIG_SYNTAX_PYTHON,
      &einfo);
  if (rc != ONIG_NORMAL) {
    OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(msg, rc, &einfo);
    c->regex = nullptr;
    throw ConfigError(detail::concat(
        "[peft] invalid regex in ",
        what,
        ": '",
        pattern,
        "': ",
        reinterpret_cast<const char*>(msg)));
  }
  OnigRegex out = c->regex;
  cache.emplace(pattern, std::move(c));
  return out;
}

std::optional<std::vector<std::string>> run(
    const std::string& pattern, std::string_view text, std::string_view what) {
  OnigRegex re = compiled(pattern, what);
  std::unique_ptr<OnigRegion, RegionDeleter> region(onig_region_new());
  const auto* begin = reinterpret_cast<const OnigUChar*>(text.data());
  const auto* end = begin + text.size();
  const int r = onig_match(re, begin, end, begin, region.get(), ONIG_OPTION_NONE);
  if (r == ONIG_MISMATCH)
    return std::nullopt;
  if (r < 0) {
    OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(msg, r);
    throw ValueError(detail::concat(
        "[peft] regex '",
        pattern,
        "' failed on '",
        text,
        "': ",
        reinterpret_cast<const char*>(msg)));
  }
  std::vector<std::string> groups;
  for (int i = 0; i < region->num_regs; ++i) {
    if (region->beg[i] < 0) {
      groups.emplace_back();
    } else {
      groups.emplace_back(text.substr(
          static_cast<std::size_t>(region->beg[i]),
          static_cast<std::size_t>(region->end[i] - region->beg[i])));
    }
  }
  return groups;
}

}  // namespace

bool fullmatch(std::string_view pattern, std::string_view text, std::string_view what) {
  return run("(?:" + std::string(pattern) + ")\\Z", text, what).has_value();
}

std::optional<std::vector<std::string>> match(
    std::string_view pattern, std::string_view text, std::string_view what) {
  return run(std::string(pattern), text, what);
}

std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    const bool plain = (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
                       c == '_' || u >= 0x80;
    if (!plain)
      out += '\\';
    out += c;
  }
  return out;
}

}  // namespace peftcpp::pyre
