// Fine-tuning data: documents from plain text or JSONL, a held-out split, tokenization and
// packing into fixed-length causal-LM blocks (transformers' run_clm `group_texts`).
//
// Plain text: documents are separated by blank lines (chapters, paragraphs). JSONL: one object
// per line with "text", or "prompt" + "completion" (the prompt's tokens get label -100, so only
// the completion is learned, as TRL's completion-only loss).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/tokenizer/tokenizer.h"

namespace peftcpp::train {

/// Label of tokens that do not count in the loss (PyTorch's ignore_index).
inline constexpr std::int64_t kIgnoreIndex = -100;

struct Document {
  /// The whole text (plain text / "text"), or the completion.
  std::string text;
  /// The prompt of a prompt/completion pair ("" otherwise).
  std::string prompt;
};

/// Reads `path` (".jsonl" / ".json" lines, else plain text). Throws IoError / ValueError naming
/// the file, the line and what was wrong (not JSON, no "text" / "prompt"+"completion" string).
/// An empty result is an error.
std::vector<Document> read_documents(const std::string& path);

struct Split {
  std::vector<Document> train;
  std::vector<Document> eval;
};

/// Holds out round(fraction * n) whole documents (at least 1 when fraction > 0 and n > 1),
/// chosen by a seeded shuffle; order inside each part follows the file. Deterministic in seed.
Split split_documents(const std::vector<Document>& docs, double eval_fraction, std::uint64_t seed);

/// Token ids and labels of a corpus, documents concatenated, each followed by `eos_id` when
/// given (>= 0).
struct TokenStream {
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> labels;
};

TokenStream tokenize_documents(const Tokenizer& tokenizer, const std::vector<Document>& docs,
                               std::int64_t eos_id = -1);

/// Fixed-length training examples: `ids` and `labels` of `seq_len` tokens each.
struct Block {
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> labels;
};

/// Consecutive blocks of `seq_len` tokens; the remainder shorter than seq_len is dropped (as
/// group_texts) unless `keep_remainder` (then the last block is shorter).
std::vector<Block> pack_blocks(const TokenStream& stream, std::int64_t seq_len,
                               bool keep_remainder = false);

}  // namespace peftcpp::train
