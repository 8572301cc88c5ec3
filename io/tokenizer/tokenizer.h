// HuggingFace `tokenizer.json` tokenizers: normalizer -> pre-tokenizer -> model ->
// post-processor -> decoder, assembled from the file, with results identical to the Rust
// `tokenizers` library (crate 0.22.2) used by transformers' fast tokenizers.
//
//   auto tok = peftcpp::Tokenizer::from_file("tokenizer.json");
//   peftcpp::Encoding enc = tok.encode("Hello world", /*add_special_tokens=*/true);
//   std::string text = tok.decode(enc.ids);
//
// Offsets are [start, end) in Unicode code points of the input (as Python's `encode`); tokens
// of the second sequence of a pair refer to the pair text. Thread safety: encode/decode are
// const and may run concurrently; set_padding/set_truncation must not race with them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace peftcpp {

/// The result of encoding one text (or a text pair).
struct Encoding {
  std::vector<uint32_t> ids;
  std::vector<std::string> tokens;
  /// [start, end) in code points of the original text (or of the pair text, see sequence_ids).
  std::vector<std::pair<size_t, size_t>> offsets;
  std::vector<uint32_t> type_ids;
  /// 1 for tokens added by the post-processor and for padding.
  std::vector<uint32_t> special_tokens_mask;
  std::vector<uint32_t> attention_mask;
  /// Index of the pre-tokenized word of each token; -1 for special tokens and padding.
  std::vector<int32_t> word_ids;
  /// 0 or 1 (first or second sequence) per token; -1 for special tokens and padding.
  std::vector<int32_t> sequence_ids;

  size_t size() const {
    return ids.size();
  }
};

enum class PaddingDirection { Left, Right };
enum class TruncationDirection { Left, Right };
enum class PaddingStrategy { BatchLongest, Fixed };
enum class TruncationStrategy { LongestFirst, OnlyFirst, OnlySecond };

struct PaddingParams {
  PaddingStrategy strategy = PaddingStrategy::BatchLongest;
  size_t fixed_length = 0;  // used with PaddingStrategy::Fixed
  PaddingDirection direction = PaddingDirection::Right;
  size_t pad_to_multiple_of = 0;  // 0: no rounding
  uint32_t pad_id = 0;
  uint32_t pad_type_id = 0;
  std::string pad_token = "[PAD]";
};

struct TruncationParams {
  size_t max_length = 512;  // counts the special tokens the post-processor adds
  TruncationStrategy strategy = TruncationStrategy::LongestFirst;
  TruncationDirection direction = TruncationDirection::Right;
  size_t stride = 0;
};

class Tokenizer {
 public:
  /// Loads a tokenizer.json. Throws IoError (unreadable file, invalid JSON) or ConfigError
  /// naming the component and key ("[tokenizer] pre_tokenizer.Split: missing key 'pattern' ...").
  static Tokenizer from_file(const std::string& path);
  /// Same, from the JSON text; `source` names it in error messages.
  static Tokenizer from_json(std::string_view json, const std::string& source = "<memory>");

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  /// Encodes one text (UTF-8; invalid UTF-8 throws ValueError).
  Encoding encode(std::string_view text, bool add_special_tokens = true) const;
  /// Encodes a pair of texts.
  Encoding encode(
      std::string_view text, std::string_view pair, bool add_special_tokens = true) const;
  /// Keeps encode("a", "b") a pair encode (a string literal would otherwise convert to bool).
  Encoding encode(std::string_view text, const char* pair, bool add_special_tokens = true) const {
    return encode(text, std::string_view(pair), add_special_tokens);
  }
  /// Encodes several texts; applies truncation and batch padding when configured.
  std::vector<Encoding> encode_batch(
      const std::vector<std::string>& texts, bool add_special_tokens = true) const;
  /// Encodes several text pairs, like encode_batch.
  std::vector<Encoding> encode_batch_pairs(
      const std::vector<std::pair<std::string, std::string>>& pairs,
      bool add_special_tokens = true) const;

  /// Decodes ids (unknown ids are skipped) with the tokenizer's decoder.
  std::string decode(const std::vector<uint32_t>& ids, bool skip_special_tokens = false) const;

  std::optional<uint32_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(uint32_t id) const;
  /// Vocabulary size, by default counting the added tokens (union of both vocabularies).
  size_t vocab_size(bool with_added_tokens = true) const;

  void set_padding(std::optional<PaddingParams> padding);
  void set_truncation(std::optional<TruncationParams> truncation);
  const std::optional<PaddingParams>& padding() const;
  const std::optional<TruncationParams>& truncation() const;

  /// Serializes back to tokenizer.json (the JSON the tokenizer was built from, with the current
  /// padding and truncation).
  std::string to_json(bool pretty = false) const;
  /// Writes to_json() to `path` atomically (temporary file, fsync, rename).
  void save(const std::string& path, bool pretty = false) const;

  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  const Impl& impl() const {
    return *impl_;
  }

 private:
  std::unique_ptr<Impl> impl_;
};

/// Byte offsets in UTF-8 of `enc.offsets` (code points), using `text` / `pair` per sequence id.
std::vector<std::pair<size_t, size_t>> byte_offsets(
    const Encoding& enc, std::string_view text, std::string_view pair = {});

}  // namespace peftcpp
