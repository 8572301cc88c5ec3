// Normalizers of tokenizer.json (port of tokenizers/src/normalizers, crate 0.22.2; internal).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/tokenizer/normalized_string.h"
#include "io/tokenizer/onig_regex.h"

namespace peftcpp::tok {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(NormalizedString& s) const = 0;
};

enum class UnicodeForm { NFC, NFD, NFKC, NFKD };

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(UnicodeForm form) : form_(form) {}
  void normalize(NormalizedString& s) const override;

 private:
  UnicodeForm form_;
};

class LowercaseNormalizer : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override {
    s.lowercase();
  }
};

/// Removes combining marks (Mn, Mc, Me).
class StripAccentsNormalizer : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override;
};

class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void normalize(NormalizedString& s) const override;

 private:
  bool left_, right_;
};

class BertNormalizer : public Normalizer {
 public:
  BertNormalizer(
      bool clean_text, bool handle_chinese_chars, std::optional<bool> strip_accents, bool lowercase)
      : clean_text_(clean_text),
        handle_chinese_chars_(handle_chinese_chars),
        strip_accents_(strip_accents),
        lowercase_(lowercase) {}
  void normalize(NormalizedString& s) const override;

 private:
  bool clean_text_, handle_chinese_chars_;
  std::optional<bool> strip_accents_;
  bool lowercase_;
};

class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prepend) : prepend_(std::move(prepend)) {}
  void normalize(NormalizedString& s) const override {
    if (!s.empty())
      s.prepend(prepend_);
  }

 private:
  std::string prepend_;
};

/// Replace: `pattern` is a regex (the literal is escaped by the loader for String patterns).
class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(const std::string& regex, std::string content, const std::string& context)
      : regex_(regex, context), content_(std::move(content)) {}
  void normalize(NormalizedString& s) const override;
  /// The decoder side of Replace: applies the same replacement to each token.
  void replace_in(std::string& token) const;

 private:
  OnigRegex regex_;
  std::string content_;
};

/// NMT: removes some control characters, maps others to a space.
class NmtNormalizer : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override;
};

/// ByteLevel normalizer: every byte becomes its byte-level alphabet character.
class ByteLevelNormalizer : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override {
    if (!s.empty())
      s.byte_level_transform();
  }
};

/// SentencePiece precompiled_charsmap (spm_precompiled 0.1.4).
class PrecompiledNormalizer : public Normalizer {
 public:
  /// `charsmap` is the base64-decoded blob; throws ConfigError naming `context` if malformed.
  PrecompiledNormalizer(std::string charsmap, const std::string& context);
  void normalize(NormalizedString& s) const override;
  /// The replacement of the shortest trie entry that prefixes `chunk`, if any.
  std::optional<std::string_view> transform(std::string_view chunk) const;

 private:
  std::vector<uint32_t> trie_;
  std::string normalized_;
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> items)
      : items_(std::move(items)) {}
  void normalize(NormalizedString& s) const override {
    for (const auto& n : items_) n->normalize(s);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> items_;
};

}  // namespace peftcpp::tok
