// Pre-tokenizers of tokenizer.json (port of tokenizers/src/pre_tokenizers, crate 0.22.2;
// internal header).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "io/tokenizer/onig_regex.h"
#include "io/tokenizer/pre_tokenized.h"

namespace peftcpp::tok {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void pre_tokenize(PreTokenizedString& pts) const = 0;
};

/// GPT-2 byte-level: optional prefix space, optional GPT-2 regex split, then byte mapping.
class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex);
  void pre_tokenize(PreTokenizedString& pts) const override;
  /// True when this only maps bytes (no prefix space, no regex split).
  bool is_plain_mapping() const {
    return !add_prefix_space_ && !use_regex_;
  }

 private:
  bool add_prefix_space_;
  bool use_regex_;
};

/// The GPT-2 pattern shared by the ByteLevel pre-tokenizer.
const OnigRegex& gpt2_regex();

class SplitPreTokenizer : public PreTokenizer {
 public:
  /// `regex` is the Oniguruma pattern (String patterns are escaped by the loader).
  SplitPreTokenizer(
      const std::string& regex, SplitBehavior behavior, bool invert, const std::string& context)
      : regex_(regex, context), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(PreTokenizedString& pts) const override;
  /// pre_tokenize followed by a plain ByteLevel mapping of every piece, fused.
  void pre_tokenize_byte_level(PreTokenizedString& pts) const;

 private:
  OnigRegex regex_;
  SplitBehavior behavior_;
  bool invert_;
};

enum class PrependScheme { First, Never, Always };

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split)
      : replacement_(replacement), scheme_(scheme), split_(split) {}
  void pre_tokenize(PreTokenizedString& pts) const override;

 private:
  char32_t replacement_;
  PrependScheme scheme_;
  bool split_;
};

/// Splits on \w+|[^\w\s]+ (whitespace removed).
class WhitespacePreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenizedString& pts) const override;
};

class WhitespaceSplitPreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenizedString& pts) const override;
};

class BertPreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenizedString& pts) const override;
};

class PunctuationPreTokenizer : public PreTokenizer {
 public:
  explicit PunctuationPreTokenizer(SplitBehavior behavior) : behavior_(behavior) {}
  void pre_tokenize(PreTokenizedString& pts) const override;

 private:
  SplitBehavior behavior_;
};

class DigitsPreTokenizer : public PreTokenizer {
 public:
  explicit DigitsPreTokenizer(bool individual_digits) : individual_(individual_digits) {}
  void pre_tokenize(PreTokenizedString& pts) const override;

 private:
  bool individual_;
};

class CharDelimiterSplitPreTokenizer : public PreTokenizer {
 public:
  explicit CharDelimiterSplitPreTokenizer(char32_t delimiter) : delimiter_(delimiter) {}
  void pre_tokenize(PreTokenizedString& pts) const override;

 private:
  char32_t delimiter_;
};

class FixedLengthPreTokenizer : public PreTokenizer {
 public:
  explicit FixedLengthPreTokenizer(size_t length) : length_(length) {}
  void pre_tokenize(PreTokenizedString& pts) const override;

 private:
  size_t length_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  /// Runs the items in order; Split followed by a plain ByteLevel mapping runs fused.
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> items);
  void pre_tokenize(PreTokenizedString& pts) const override;

 private:
  struct Step {
    size_t index;
    bool fused_byte_level;
  };
  std::vector<std::unique_ptr<PreTokenizer>> items_;
  std::vector<Step> plan_;
};

}  // namespace peftcpp::tok
