// PreTokenizedString: splitting bookkeeping and conversion of tokens into an Encoding.
#include "io/tokenizer/pre_tokenized.h"

#include "io/tokenizer/tokenizer.h"

namespace peftcpp::tok {

PreTokenizedString::PreTokenizedString(std::string_view original) : original_(original) {
  splits_.push_back({NormalizedString(original, 0), std::nullopt});
}

CharOffsetConverter::CharOffsetConverter(std::string_view text) {
  ascii_ = true;
  for (char ch : text) {
    if (static_cast<unsigned char>(ch) >= 0x80) {
      ascii_ = false;
      break;
    }
  }
  if (ascii_) {
    char_at_byte_.resize(text.size());  // only its size is used
    return;
  }
  char_at_byte_.resize(text.size());
  uint32_t ci = 0;
  size_t i = 0;
  while (i < text.size()) {
    const size_t n = utf8_seq_len(static_cast<unsigned char>(text[i]));
    for (size_t k = 0; k < n && i + k < text.size(); ++k) char_at_byte_[i + k] = ci;
    i += n;
    ++ci;
  }
}

bool CharOffsetConverter::convert(size_t& start, size_t& end) const {
  const size_t len = char_at_byte_.size();
  if (start >= len)
    return false;  // the start byte is not in the map
  if (ascii_) {    // char index == byte index
    if (end >= len && !(end >= 1 && end - 1 < len))
      end = start + 1;
    return true;
  }
  const size_t s = char_at_byte_[start];
  size_t e;
  if (end < len) {
    e = char_at_byte_[end];
  } else {
    // `end` is not in the map: use the char of the byte before it, plus one.
    e = (end >= 1 && end - 1 < len) ? char_at_byte_[end - 1] + 1 : s + 1;
  }
  start = s;
  end = e;
  return true;
}

void PreTokenizedString::into_encoding(
    std::optional<uint32_t> word_idx, uint32_t type_id, bool char_offsets, Encoding& out) {
  out = Encoding{};
  if (splits_.empty())
    return;
  size_t total = 0;
  for (const auto& s : splits_) total += s.tokens ? s.tokens->size() : 0;
  out.ids.reserve(total);
  out.tokens.reserve(total);
  out.offsets.reserve(total);
  std::optional<CharOffsetConverter> conv;
  if (char_offsets)
    conv.emplace(original_);
  for (size_t idx = 0; idx < splits_.size(); ++idx) {
    auto& split = splits_[idx];
    if (!split.tokens)
      continue;
    const auto base = split.normalized.offsets_original();
    for (auto& tok : *split.tokens) {
      size_t start = tok.start, end = tok.end;
      if (auto r = split.normalized.normalized_to_original(tok.start, tok.end)) {
        start = base.first + r->first;
        end = base.first + r->second;
      }
      if (conv)
        conv->convert(start, end);
      out.ids.push_back(tok.id);
      out.tokens.push_back(std::move(tok.value));
      out.offsets.emplace_back(start, end);
    }
    const auto word = static_cast<int32_t>(word_idx ? *word_idx : idx);
    out.word_ids.resize(out.ids.size(), word);
  }
  const size_t n = out.ids.size();
  out.type_ids.assign(n, type_id);
  out.special_tokens_mask.assign(n, 0);
  out.attention_mask.assign(n, 1);
  out.sequence_ids.assign(n, -1);
}

}  // namespace peftcpp::tok
