// PreTokenizedString: the input text cut into NormalizedString pieces, some of which are already
// tokenized (added tokens). Port of tokenizers/src/tokenizer/pre_tokenizer.rs (internal header).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/tokenizer/normalized_string.h"

namespace peftcpp {
struct Encoding;
}

namespace peftcpp::tok {

/// A token produced by a model: offsets are bytes in the normalized piece it came from.
struct Token {
  uint32_t id;
  std::string value;
  size_t start;
  size_t end;
};

struct Split {
  NormalizedString normalized;
  std::optional<std::vector<Token>> tokens;
};

class PreTokenizedString {
 public:
  /// `original` must outlive this object (it is the text given to encode()).
  explicit PreTokenizedString(std::string_view original);

  std::vector<Split>& splits() {
    return splits_;
  }
  const std::vector<Split>& splits() const {
    return splits_;
  }
  std::string_view original() const {
    return original_;
  }

  /// Replaces every untokenized split by what `fn(index, NormalizedString&&, out)` appends to
  /// `out`; empty results are dropped (PreTokenizedString::split).
  template <class Fn>
  void split(Fn&& fn);
  /// Applies `fn(NormalizedString&)` to every untokenized split.
  template <class Fn>
  void normalize(Fn&& fn) {
    for (auto& s : splits_) {
      if (!s.tokens)
        fn(s.normalized);
    }
  }

  /// Builds the encoding: offsets mapped to the original text, in code points when
  /// `char_offsets`. Moves the token strings out of the splits.
  void into_encoding(
      std::optional<uint32_t> word_idx, uint32_t type_id, bool char_offsets, Encoding& out);

 private:
  std::string_view original_;
  std::vector<Split> splits_;
};

template <class Fn>
void PreTokenizedString::split(Fn&& fn) {
  std::vector<Split> next;
  next.reserve(splits_.size());
  std::vector<Split> produced;
  for (size_t i = 0; i < splits_.size(); ++i) {
    if (splits_[i].tokens) {
      next.push_back(std::move(splits_[i]));
      continue;
    }
    produced.clear();
    fn(i, std::move(splits_[i].normalized), produced);
    for (auto& p : produced) {
      if (!p.normalized.empty())
        next.push_back(std::move(p));
    }
  }
  splits_ = std::move(next);
}

/// Converts byte offsets in `text` to code point offsets (BytesToCharOffsetConverter).
class CharOffsetConverter {
 public:
  explicit CharOffsetConverter(std::string_view text);
  /// Returns false (leaving the offsets as they are) when the start is not a known byte.
  bool convert(size_t& start, size_t& end) const;

 private:
  std::vector<uint32_t> char_at_byte_;  // index of the char containing each byte
  bool ascii_ = false;
};

}  // namespace peftcpp::tok
