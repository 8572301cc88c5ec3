// Python `re` matching as PEFT uses it for module names (internal to peft/).
//
// PEFT matches target_modules / exclude_modules strings with `re.fullmatch`, rank_pattern and
// alpha_pattern keys with `re.match(rf"(.*\.)?({key})$", name)`, layer indices with `re.match`.
// Patterns are compiled with Oniguruma's Python syntax (so `(?P<name>...)`, lookarounds and
// `\d` behave as in Python) and cached, so a pattern is compiled once per process.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peftcpp::pyre {

/// `re.fullmatch(pattern, text) is not None`. Throws ConfigError "[peft] invalid regex ..."
/// naming `what` (the config field) when the pattern does not compile.
bool fullmatch(std::string_view pattern, std::string_view text, std::string_view what = "pattern");

/// `re.match(pattern, text)` (anchored at the start, any end): the groups 0..n of the match
/// (unmatched groups are empty strings), or nullopt when it does not match.
std::optional<std::vector<std::string>> match(
    std::string_view pattern, std::string_view text, std::string_view what = "pattern");

/// `re.escape(text)`: every character that is not alphanumeric or '_' is backslash-escaped.
std::string escape(std::string_view text);

}  // namespace peftcpp::pyre
