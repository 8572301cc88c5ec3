// The pipeline behind peftcpp::Tokenizer (internal header).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "io/tokenizer/added_vocabulary.h"
#include "io/tokenizer/decoders.h"
#include "io/tokenizer/models.h"
#include "io/tokenizer/normalizers.h"
#include "io/tokenizer/post_processors.h"
#include "io/tokenizer/pre_tokenizers.h"
#include "io/tokenizer/tokenizer.h"

namespace peftcpp {

struct Tokenizer::Impl {
  std::unique_ptr<tok::Normalizer> normalizer;
  std::unique_ptr<tok::PreTokenizer> pre_tokenizer;
  std::unique_ptr<tok::Model> model;
  std::unique_ptr<tok::PostProcessor> post_processor;
  std::unique_ptr<tok::Decoder> decoder;
  tok::AddedVocabulary added;
  std::optional<PaddingParams> padding;
  std::optional<TruncationParams> truncation;
  std::string json;  // the tokenizer.json text this tokenizer was built from
  size_t vocab_size_with_added = 0;

  /// Normalize, pre-tokenize and tokenize one sequence (encode_single_sequence).
  Encoding encode_single(std::string_view text, uint32_t type_id) const;
  /// Truncation, post-processor, then padding (TokenizerImpl::post_process).
  Encoding post_process(Encoding enc, Encoding* pair, bool add_special_tokens) const;
};

namespace tok {
/// Builds the pipeline from tokenizer.json text; `source` names it in error messages.
std::unique_ptr<Tokenizer::Impl> load_tokenizer(std::string_view json, const std::string& source);
/// The JSON text of the tokenizer with its current padding/truncation.
std::string tokenizer_to_json(const Tokenizer::Impl& impl, bool pretty);
}  // namespace tok

}  // namespace peftcpp
