// WordPiece and WordLevel models: ports of tokenizers/src/models/{wordpiece,wordlevel}/mod.rs.
#include "io/tokenizer/models.h"
#include "tensor/error.h"

namespace peftcpp::tok {

WordPieceModel::WordPieceModel(
    Vocab vocab,
    std::string unk_token,
    std::string continuing_subword_prefix,
    size_t max_input_chars_per_word)
    : vocab_(std::move(vocab)),
      unk_token_(std::move(unk_token)),
      prefix_(std::move(continuing_subword_prefix)),
      max_chars_(max_input_chars_per_word) {
  vocab_r_.build(vocab_);
}

std::optional<uint32_t> WordPieceModel::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end())
    return std::nullopt;
  return it->second;
}

std::optional<std::string> WordPieceModel::id_to_token(uint32_t id) const {
  if (const auto* s = vocab_r_.find(id))
    return *s;
  return std::nullopt;
}

void WordPieceModel::push_unk(std::string_view sequence, std::vector<Token>& out) const {
  auto it = vocab_.find(unk_token_);
  if (it == vocab_.end()) {
    throw ValueError(detail::concat(
        "[tokenizer] model.WordPiece: unk_token '", unk_token_, "' is not in the vocabulary"));
  }
  out.push_back(Token{it->second, unk_token_, 0, sequence.size()});
}

void WordPieceModel::tokenize(std::string_view sequence, std::vector<Token>& out) const {
  if (utf8_count(sequence) > max_chars_) {
    push_unk(sequence, out);
    return;
  }
  const size_t first = out.size();
  std::string buf;
  size_t start = 0;
  while (start < sequence.size()) {
    size_t end = sequence.size();
    bool found = false;
    while (start < end) {
      std::string_view sub = sequence.substr(start, end - start);
      if (start > 0) {
        buf = prefix_;
        buf += sub;
        sub = buf;
      }
      auto it = vocab_.find(sub);
      if (it != vocab_.end()) {
        out.push_back(Token{it->second, std::string(sub), start, end});
        found = true;
        break;
      }
      // Drop the last character of the candidate (of `sub`, which ends like the sequence).
      size_t last = sub.size() - 1;
      while (last > 0 && (static_cast<unsigned char>(sub[last]) & 0xC0) == 0x80) --last;
      end -= sub.size() - last;
    }
    if (!found) {
      out.resize(first);
      push_unk(sequence, out);
      return;
    }
    start = end;
  }
}

WordLevelModel::WordLevelModel(Vocab vocab, std::string unk_token)
    : vocab_(std::move(vocab)), unk_token_(std::move(unk_token)) {
  vocab_r_.build(vocab_);
}

std::optional<uint32_t> WordLevelModel::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end())
    return std::nullopt;
  return it->second;
}

std::optional<std::string> WordLevelModel::id_to_token(uint32_t id) const {
  if (const auto* s = vocab_r_.find(id))
    return *s;
  return std::nullopt;
}

void WordLevelModel::tokenize(std::string_view sequence, std::vector<Token>& out) const {
  if (auto it = vocab_.find(sequence); it != vocab_.end()) {
    out.push_back(Token{it->second, std::string(sequence), 0, sequence.size()});
    return;
  }
  if (auto it = vocab_.find(unk_token_); it != vocab_.end()) {
    out.push_back(Token{it->second, unk_token_, 0, sequence.size()});
    return;
  }
  throw ValueError(detail::concat(
      "[tokenizer] model.WordLevel: unk_token '", unk_token_, "' is not in the vocabulary"));
}

}  // namespace peftcpp::tok
