// Tokenization models of tokenizer.json: BPE, WordPiece, WordLevel, Unigram (port of
// tokenizers/src/models, crate 0.22.2; internal header).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "io/tokenizer/pre_tokenized.h"

namespace peftcpp::tok {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept;
};
using Vocab = std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>>;

class Model {
 public:
  virtual ~Model() = default;
  /// Appends the tokens of one pre-tokenized piece (offsets in bytes of `sequence`).
  virtual void tokenize(std::string_view sequence, std::vector<Token>& out) const = 0;
  virtual std::optional<uint32_t> token_to_id(std::string_view token) const = 0;
  virtual std::optional<std::string> id_to_token(uint32_t id) const = 0;
  /// Model::get_vocab_size.
  virtual size_t vocab_size() const = 0;
  /// Number of distinct token strings (the size of Model::get_vocab).
  virtual size_t vocab_map_size() const {
    return vocab_size();
  }
};

/// Read-only open-addressing map token -> id, flat in memory (faster look-ups than Vocab).
class FlatVocab {
 public:
  void build(const Vocab& vocab);
  const uint32_t* find(std::string_view token) const {
    if (slots_.empty())
      return nullptr;
    const uint64_t h = StringHash{}(token);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.len == kEmpty)
        return nullptr;
      if (s.hash == h && s.len == token.size() &&
          keys_.compare(s.off, s.len, token.data(), token.size()) == 0) {
        return &s.id;
      }
    }
  }
  size_t size() const {
    return size_;
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  struct Slot {
    uint64_t hash = 0;
    uint32_t off = 0;
    uint32_t len = kEmpty;
    uint32_t id = 0;
  };
  std::vector<Slot> slots_;
  std::string keys_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

/// Reverse vocabulary: id -> token string.
class ReverseVocab {
 public:
  void build(const Vocab& vocab);
  const std::string* find(uint32_t id) const {
    if (!sparse_.empty()) {
      auto it = sparse_.find(id);
      return it == sparse_.end() ? nullptr : &it->second;
    }
    return id < present_.size() && present_[id] ? &strings_[id] : nullptr;
  }

 private:
  std::vector<std::string> strings_;  // dense ids (the usual case)
  std::vector<bool> present_;
  std::unordered_map<uint32_t, std::string> sparse_;  // ids far beyond the vocabulary size
};

struct BpeOptions {
  std::optional<float> dropout;
  std::optional<std::string> unk_token;
  std::optional<std::string> continuing_subword_prefix;
  std::optional<std::string> end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};

class BpeModel : public Model {
 public:
  /// Throws ConfigError naming `context` when a merge uses a token missing from the vocab.
  BpeModel(
      Vocab vocab,
      const std::vector<std::pair<std::string, std::string>>& merges,
      BpeOptions options,
      const std::string& context);
  ~BpeModel() override;
  void tokenize(std::string_view sequence, std::vector<Token>& out) const override;
  std::optional<uint32_t> token_to_id(std::string_view token) const override;
  std::optional<std::string> id_to_token(uint32_t id) const override;
  size_t vocab_size() const override {
    return vocab_.size();
  }

  struct MergeTable;
  class WordCache;

 private:
  // (id, byte length) per token of a merged word.
  using Word = std::vector<std::pair<uint32_t, uint32_t>>;
  void merge_word(std::string_view w, Word& word) const;
  void emit(const Word& word, std::vector<Token>& out) const;

  FlatVocab vocab_;
  ReverseVocab vocab_r_;
  std::unique_ptr<MergeTable> merges_;
  BpeOptions opt_;
  std::optional<uint32_t> byte_ids_[256];  // "<0xXX>" ids for byte_fallback
  std::unique_ptr<WordCache> cache_;
};

class WordPieceModel : public Model {
 public:
  WordPieceModel(
      Vocab vocab,
      std::string unk_token,
      std::string continuing_subword_prefix,
      size_t max_input_chars_per_word);
  void tokenize(std::string_view sequence, std::vector<Token>& out) const override;
  std::optional<uint32_t> token_to_id(std::string_view token) const override;
  std::optional<std::string> id_to_token(uint32_t id) const override;
  size_t vocab_size() const override {
    return vocab_.size();
  }

 private:
  void push_unk(std::string_view sequence, std::vector<Token>& out) const;
  Vocab vocab_;
  ReverseVocab vocab_r_;
  std::string unk_token_;
  std::string prefix_;
  size_t max_chars_;
};

class WordLevelModel : public Model {
 public:
  WordLevelModel(Vocab vocab, std::string unk_token);
  void tokenize(std::string_view sequence, std::vector<Token>& out) const override;
  std::optional<uint32_t> token_to_id(std::string_view token) const override;
  std::optional<std::string> id_to_token(uint32_t id) const override;
  size_t vocab_size() const override {
    return vocab_.size();
  }

 private:
  Vocab vocab_;
  ReverseVocab vocab_r_;
  std::string unk_token_;
};

class UnigramModel : public Model {
 public:
  /// Throws ConfigError naming `context` for an empty vocab or an out-of-range unk_id.
  UnigramModel(
      std::vector<std::pair<std::string, double>> vocab,
      std::optional<size_t> unk_id,
      bool byte_fallback,
      const std::string& context);
  ~UnigramModel() override;
  void tokenize(std::string_view sequence, std::vector<Token>& out) const override;
  std::optional<uint32_t> token_to_id(std::string_view token) const override;
  std::optional<std::string> id_to_token(uint32_t id) const override;
  size_t vocab_size() const override {
    return vocab_.size();
  }
  size_t vocab_map_size() const override {
    return token_to_ids_.size();
  }

  struct Trie;

 private:
  /// Viterbi segmentation into piece strings (Unigram::encode_optimized, unk pieces fused).
  void encode(std::string_view sentence, std::vector<std::string>& pieces) const;

  std::vector<std::pair<std::string, double>> vocab_;
  Vocab token_to_ids_;
  std::unique_ptr<Trie> trie_;
  double min_score_;
  std::optional<size_t> unk_id_;
  bool byte_fallback_;
};

}  // namespace peftcpp::tok
