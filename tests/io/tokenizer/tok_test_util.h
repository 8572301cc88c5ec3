// Helpers for the tokenizer tests: build small tokenizer.json texts inline.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "io/tokenizer/normalized_string.h"
#include "io/tokenizer/pre_tokenized.h"
#include "io/tokenizer/tokenizer.h"

namespace tok_test {

/// A tokenizer.json with the given component JSON texts ("null" when absent).
inline std::string tokenizer_json(
    const std::string& model,
    const std::string& normalizer = "null",
    const std::string& pre_tokenizer = "null",
    const std::string& post_processor = "null",
    const std::string& decoder = "null",
    const std::string& added_tokens = "[]") {
  return R"({"version":"1.0","truncation":null,"padding":null,"added_tokens":)" + added_tokens +
         R"(,"normalizer":)" + normalizer + R"(,"pre_tokenizer":)" + pre_tokenizer +
         R"(,"post_processor":)" + post_processor + R"(,"decoder":)" + decoder + R"(,"model":)" +
         model + "}";
}

/// A WordLevel model over `words` (ids in order), with "<unk>" appended.
inline std::string word_level(const std::vector<std::string>& words) {
  std::string v = "{";
  for (size_t i = 0; i < words.size(); ++i) {
    v += "\"" + words[i] + "\":" + std::to_string(i) + ",";
  }
  v += "\"<unk>\":" + std::to_string(words.size()) + "}";
  return R"({"type":"WordLevel","unk_token":"<unk>","vocab":)" + v + "}";
}

using Pieces = std::vector<std::pair<std::string, std::pair<size_t, size_t>>>;

/// The (normalized text, original byte offsets) of every split.
inline Pieces pieces(const peftcpp::tok::PreTokenizedString& pts) {
  Pieces out;
  for (const auto& s : pts.splits()) {
    out.emplace_back(s.normalized.get(), s.normalized.offsets_original());
  }
  return out;
}

inline std::vector<std::pair<size_t, size_t>> offs(
    std::initializer_list<std::pair<size_t, size_t>> l) {
  return std::vector<std::pair<size_t, size_t>>(l);
}

}  // namespace tok_test
