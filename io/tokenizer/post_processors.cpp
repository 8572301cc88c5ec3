// Post-processors: ports of tokenizers/src/processors/*.rs and PostProcessor::process.
#include "io/tokenizer/post_processors.h"

#include <algorithm>

#include "io/tokenizer/encoding_ops.h"
#include "io/tokenizer/unicode_utils.h"
#include "tensor/error.h"

namespace peftcpp::tok {

Encoding post_process(
    const PostProcessor* pp, Encoding enc, Encoding* pair, bool add_special_tokens) {
  std::vector<Encoding> encs;
  encs.push_back(std::move(enc));
  if (pair != nullptr)
    encs.push_back(std::move(*pair));
  if (pp == nullptr) {  // PostProcessor::default_process
    if (encs.size() == 1)
      return std::move(encs[0]);
    for (size_t i = 0; i < encs.size(); ++i) set_sequence_id(encs[i], static_cast<int32_t>(i));
  } else {
    for (size_t i = 0; i < encs.size(); ++i) {
      set_sequence_id(encs[i], static_cast<int32_t>(i));
      encs[i].type_ids.assign(encs[i].ids.size(), static_cast<uint32_t>(i));
    }
    pp->process_encodings(encs, add_special_tokens);
  }
  if (encs.empty())
    return Encoding{};
  Encoding out = std::move(encs[0]);
  for (size_t i = 1; i < encs.size(); ++i) merge_into(out, encs[i]);
  return out;
}

void trim_byte_level_offsets(Encoding& e, bool add_prefix_space) {
  auto is_space = [](char32_t c) { return c == 0x120 || is_whitespace(c); };
  for (size_t i = 0; i < e.tokens.size(); ++i) {
    const std::u32string chars = utf8_decode(e.tokens[i]);
    size_t leading = 0, trailing = 0;
    while (leading < chars.size() && is_space(chars[leading])) ++leading;
    while (trailing < chars.size() && is_space(chars[chars.size() - 1 - trailing])) ++trailing;
    if (leading == 0 && trailing == 0)
      continue;
    auto& [start, end] = e.offsets[i];
    if (leading > 0) {
      const bool is_first = i == 0 || start == 0;
      if (is_first && add_prefix_space && leading == 1)
        leading = 0;
      start = std::min(start + leading, end);
    }
    if (trailing > 0 && end >= trailing)
      end = std::max(end - trailing, start);
  }
}

void ByteLevelProcessor::process_encodings(std::vector<Encoding>& encs, bool) const {
  if (trim_offsets_) {
    for (auto& e : encs) trim_byte_level_offsets(e, add_prefix_space_);
  }
  for (size_t i = 0; i < encs.size(); ++i) set_sequence_id(encs[i], static_cast<int32_t>(i));
}

namespace {

Encoding special_encoding(
    const std::vector<uint32_t>& ids, const std::vector<std::string>& toks, uint32_t type_id) {
  Encoding e;
  e.ids = ids;
  e.tokens = toks;
  const size_t n = ids.size();
  e.type_ids.assign(n, type_id);
  e.offsets.assign(n, {0, 0});
  e.special_tokens_mask.assign(n, 1);
  e.attention_mask.assign(n, 1);
  e.word_ids.assign(n, -1);
  e.sequence_ids.assign(n, -1);
  return e;
}

// [first?] + enc + [last], with the given type ids for the added tokens.
Encoding wrap(
    const Encoding& enc,
    const std::string* first_tok,
    uint32_t first_id,
    const std::string& last_tok,
    uint32_t last_id,
    uint32_t first_type,
    uint32_t last_type) {
  Encoding out;
  if (first_tok != nullptr)
    out = special_encoding({first_id}, {*first_tok}, first_type);
  merge_into(out, enc);
  merge_into(out, special_encoding({last_id}, {last_tok}, last_type));
  return out;
}

}  // namespace

TemplateProcessor::TemplateProcessor(
    std::vector<TemplatePiece> single,
    std::vector<TemplatePiece> pair,
    std::map<std::string, SpecialTokenDef> special_tokens)
    : single_(std::move(single)), pair_(std::move(pair)), special_(std::move(special_tokens)) {
  auto count = [&](const std::vector<TemplatePiece>& t) {
    size_t n = 0;
    for (const auto& p : t) {
      if (p.is_sequence)
        continue;
      auto it = special_.find(p.id);
      if (it != special_.end())
        n += it->second.ids.size();
    }
    return n;
  };
  added_single_ = count(single_);
  added_pair_ = count(pair_);
}

void TemplateProcessor::process_encodings(
    std::vector<Encoding>& encs, bool add_special_tokens) const {
  const auto& tmpl = encs.size() == 2 ? pair_ : single_;
  std::vector<Encoding> out;
  out.reserve(tmpl.size());
  for (const auto& p : tmpl) {
    if (p.is_sequence) {
      const auto i = static_cast<size_t>(p.sequence);
      if (i >= encs.size()) {
        throw ValueError(
            "[tokenizer] post_processor.TemplateProcessing: the template uses $B "
            "but only one sequence was given");
      }
      Encoding& e = encs[i];
      e.type_ids.assign(e.ids.size(), p.type_id);
      set_sequence_id(e, static_cast<int32_t>(i));
      out.push_back(e);
    } else if (add_special_tokens) {
      const auto& tok = special_.at(p.id);
      out.push_back(special_encoding(tok.ids, tok.tokens, p.type_id));
    }
  }
  encs = std::move(out);
}

void BertProcessor::process_encodings(std::vector<Encoding>& encs, bool add_special_tokens) const {
  if (!add_special_tokens)
    return;
  for (size_t i = 0; i < encs.size(); ++i) {
    Encoding& e = encs[i];
    if (i == 0) {
      set_sequence_id(e, 0);
      e = wrap(e, &cls_, cls_id_, sep_, sep_id_, 0, 0);
    } else {
      set_sequence_id(e, 1);
      e = wrap(e, nullptr, 0, sep_, sep_id_, 0, 1);
    }
  }
}

void RobertaProcessor::process_encodings(
    std::vector<Encoding>& encs, bool add_special_tokens) const {
  if (trim_offsets_) {
    for (auto& e : encs) trim_byte_level_offsets(e, add_prefix_space_);
  }
  for (auto& e : encs) e.type_ids.assign(e.ids.size(), 0);
  if (!add_special_tokens)
    return;
  for (size_t i = 0; i < encs.size(); ++i) {
    Encoding& e = encs[i];
    if (i == 0) {
      set_sequence_id(e, 0);
      e = wrap(e, &cls_, cls_id_, sep_, sep_id_, 0, 0);
    } else {
      set_sequence_id(e, 1);
      e = wrap(e, &sep_, sep_id_, sep_, sep_id_, 0, 0);
    }
  }
}

size_t SequenceProcessor::added_tokens(bool is_pair) const {
  size_t n = 0;
  for (const auto& p : items_) n += p->added_tokens(is_pair);
  return n;
}

void SequenceProcessor::process_encodings(
    std::vector<Encoding>& encs, bool add_special_tokens) const {
  for (const auto& p : items_) p->process_encodings(encs, add_special_tokens);
}

}  // namespace peftcpp::tok
