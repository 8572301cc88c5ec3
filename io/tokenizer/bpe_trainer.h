// Byte-level BPE training, producing a standard tokenizer.json (as the HuggingFace tokenizers
// BpeTrainer with a ByteLevel pre-tokenizer, i.e. GPT-2 style).
//
//   peftcpp::BpeTrainerOptions opt;
//   opt.vocab_size = 8000;
//   opt.special_tokens = {"<|endoftext|>"};
//   peftcpp::BpeTrainer trainer(opt);
//   trainer.feed_file("corpus.txt");
//   peftcpp::Tokenizer tok = trainer.train();
//   tok.save("tokenizer.json");
//
// Vocabulary order follows the library's trainer: special tokens, then the alphabet sorted by
// code point (all 256 byte-level characters), then one token per merge. Merges pick the most
// frequent pair, ties going to the smallest (left id, right id). Pair counts are kept exact
// (the library's trainer can leave stale counts behind in rare overlapping cases), so on such
// corpora the merge lists may differ from the library's; on the full KJV bible all 20,516 merges
// equal those of tokenizers 0.22.2 (its default BpeTrainer, ByteLevel pre-tokenizer).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/tokenizer/tokenizer.h"

namespace peftcpp {

struct BpeTrainerOptions {
  size_t vocab_size = 30000;   // special tokens + alphabet + merges
  uint64_t min_frequency = 0;  // stop when the best pair is rarer than this
  std::vector<std::string> special_tokens;
  /// Keep at most this many alphabet characters (the least frequent go first).
  std::optional<size_t> limit_alphabet;
  /// Longest token, in byte-level characters, a merge may create.
  std::optional<size_t> max_token_length;
  /// ByteLevel pre-tokenizer option (RoBERTa-style tokenizers set it).
  bool add_prefix_space = false;
};

class BpeTrainer {
 public:
  explicit BpeTrainer(BpeTrainerOptions options);
  ~BpeTrainer();
  BpeTrainer(BpeTrainer&&) noexcept;
  BpeTrainer& operator=(BpeTrainer&&) noexcept;

  /// Counts the pre-tokenized words of one sequence (e.g. one line, newline included).
  void feed(std::string_view sequence);
  /// Feeds a UTF-8 text file line by line, keeping the line ends (as train_from_files).
  void feed_file(const std::string& path);
  /// Number of distinct words counted so far.
  size_t distinct_words() const;

  /// Learns the merges and returns the tokenizer (ByteLevel pre-tokenizer, post-processor and
  /// decoder; special tokens as added tokens). With a vocab_size below the special tokens plus
  /// the alphabet, no merge is learned (as in the library).
  Tokenizer train() const;
  /// The same tokenizer as tokenizer.json text.
  std::string train_json(bool pretty = false) const;

 private:
  struct State;
  BpeTrainerOptions opt_;
  std::unique_ptr<State> state_;
};

}  // namespace peftcpp
