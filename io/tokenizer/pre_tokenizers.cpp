// Pre-tokenizers: ports of tokenizers/src/pre_tokenizers/*.rs.
#include "io/tokenizer/pre_tokenizers.h"

#include "tensor/error.h"

namespace peftcpp::tok {

namespace {

// Splits every untokenized piece along the matches computed by `find`.
template <class Find>
void split_all(PreTokenizedString& pts, SplitBehavior behavior, Find&& find) {
  thread_local std::vector<MatchSpan> matches;
  pts.split([&](size_t, NormalizedString&& ns, std::vector<Split>& out) {
    find(ns.get(), matches);
    for (auto& piece : ns.split(matches, behavior)) out.push_back({std::move(piece), std::nullopt});
  });
}

template <class Pred>
void split_on_chars(PreTokenizedString& pts, SplitBehavior behavior, Pred pred) {
  split_all(pts, behavior, [&](std::string_view s, std::vector<MatchSpan>& m) {
    char_matches(s, pred, m);
  });
}

bool is_bert_punc(char32_t c) {
  return is_ascii_punctuation(c) || is_punctuation(c);
}

}  // namespace

const OnigRegex& gpt2_regex() {
  static const OnigRegex re(
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)",
      "pre_tokenizer.ByteLevel");
  return re;
}

ByteLevelPreTokenizer::ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
    : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {
  if (use_regex_)
    gpt2_regex();  // compile once, up front
}

void ByteLevelPreTokenizer::pre_tokenize(PreTokenizedString& pts) const {
  // The crate splits every piece, then maps every resulting piece to the byte-level alphabet;
  // doing both per piece gives the same pieces with one copy less.
  thread_local std::vector<MatchSpan> matches;
  pts.split([&](size_t, NormalizedString&& ns, std::vector<Split>& out) {
    if (add_prefix_space_ && (ns.get().empty() || ns.get()[0] != ' '))
      ns.prepend(" ");
    if (use_regex_) {
      regex_matches(gpt2_regex(), ns.get(), false, matches);
      for (const auto& m : matches) {  // Isolated: every match and gap is a piece
        if (m.start == m.end)
          continue;
        auto piece = ns.slice_byte_level(m.start, m.end);
        if (!piece)
          throw ValueError("[tokenizer] NormalizedString bad split");
        out.push_back({std::move(*piece), std::nullopt});
      }
    } else {
      ns.byte_level_transform();
      out.push_back({std::move(ns), std::nullopt});
    }
  });
}

void SplitPreTokenizer::pre_tokenize(PreTokenizedString& pts) const {
  split_all(pts, behavior_, [&](std::string_view s, std::vector<MatchSpan>& m) {
    regex_matches(regex_, s, invert_, m);
  });
}

void SplitPreTokenizer::pre_tokenize_byte_level(PreTokenizedString& pts) const {
  thread_local std::vector<MatchSpan> matches;
  thread_local std::vector<Span> spans;
  pts.split([&](size_t, NormalizedString&& ns, std::vector<Split>& out) {
    regex_matches(regex_, ns.get(), invert_, matches);
    NormalizedString::split_spans(matches, behavior_, spans);
    for (const auto& [start, end] : spans) {
      if (start == end)
        continue;
      auto piece = ns.slice_byte_level(start, end);
      if (!piece)
        throw ValueError("[tokenizer] NormalizedString bad split");
      out.push_back({std::move(*piece), std::nullopt});
    }
  });
}

SequencePreTokenizer::SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> items)
    : items_(std::move(items)) {
  for (size_t k = 0; k < items_.size(); ++k) {
    const auto* split = dynamic_cast<const SplitPreTokenizer*>(items_[k].get());
    const auto* next = k + 1 < items_.size()
                           ? dynamic_cast<const ByteLevelPreTokenizer*>(items_[k + 1].get())
                           : nullptr;
    if (split != nullptr && next != nullptr && next->is_plain_mapping()) {
      plan_.push_back({k, true});
      ++k;
    } else {
      plan_.push_back({k, false});
    }
  }
}

void SequencePreTokenizer::pre_tokenize(PreTokenizedString& pts) const {
  for (const auto& step : plan_) {
    if (step.fused_byte_level) {
      static_cast<const SplitPreTokenizer*>(items_[step.index].get())->pre_tokenize_byte_level(pts);
    } else {
      items_[step.index]->pre_tokenize(pts);
    }
  }
}

void MetaspacePreTokenizer::pre_tokenize(PreTokenizedString& pts) const {
  const std::string rep = utf8_encode(replacement_);
  thread_local std::vector<MatchSpan> matches;
  pts.split([&](size_t, NormalizedString&& ns, std::vector<Split>& out) {
    char_matches(
        ns.get(), [](char32_t c) { return c == U' '; }, matches);
    ns.replace(matches, rep);
    const bool starts = ns.get().compare(0, rep.size(), rep) == 0;
    if (scheme_ == PrependScheme::Always && !starts) {
      ns.prepend(rep);
    } else if (scheme_ == PrependScheme::First && !starts && ns.offsets_original().first == 0) {
      ns.prepend(rep);
    }
    if (split_) {
      const char32_t r = replacement_;
      char_matches(
          ns.get(), [r](char32_t c) { return c == r; }, matches);
      for (auto& p : ns.split(matches, SplitBehavior::MergedWithNext)) {
        out.push_back({std::move(p), std::nullopt});
      }
    } else {
      out.push_back({std::move(ns), std::nullopt});
    }
  });
}

void WhitespacePreTokenizer::pre_tokenize(PreTokenizedString& pts) const {
  // Rust regex `\w+|[^\w\s]+`: maximal runs of word characters, or of characters that are
  // neither word nor whitespace; the gaps (whitespace) are removed (Invert + Removed).
  split_all(pts, SplitBehavior::Removed, [](std::string_view s, std::vector<MatchSpan>& m) {
    m.clear();
    if (s.empty()) {
      m.push_back({0, 0, true});
      return;
    }
    size_t prev = 0, i = 0;
    while (i < s.size()) {
      const size_t start = i;
      char32_t c = utf8_next(s, i);
      const bool word = is_word_char(c);
      if (!word && is_whitespace(c))
        continue;
      size_t end = i;
      while (end < s.size()) {
        size_t j = end;
        c = utf8_next(s, j);
        const bool same = word ? is_word_char(c) : (!is_word_char(c) && !is_whitespace(c));
        if (!same)
          break;
        end = j;
      }
      // Invert: the regex matches become non-matches and the gaps become matches.
      if (prev != start)
        m.push_back({prev, start, true});
      m.push_back({start, end, false});
      prev = end;
      i = end;
    }
    if (prev != s.size())
      m.push_back({prev, s.size(), true});
  });
}

void WhitespaceSplitPreTokenizer::pre_tokenize(PreTokenizedString& pts) const {
  split_on_chars(pts, SplitBehavior::Removed, is_whitespace);
}

void BertPreTokenizer::pre_tokenize(PreTokenizedString& pts) const {
  split_on_chars(pts, SplitBehavior::Removed, is_whitespace);
  split_on_chars(pts, SplitBehavior::Isolated, is_bert_punc);
}

void PunctuationPreTokenizer::pre_tokenize(PreTokenizedString& pts) const {
  split_on_chars(pts, behavior_, is_bert_punc);
}

void DigitsPreTokenizer::pre_tokenize(PreTokenizedString& pts) const {
  split_on_chars(
      pts, individual_ ? SplitBehavior::Isolated : SplitBehavior::Contiguous, is_numeric);
}

void CharDelimiterSplitPreTokenizer::pre_tokenize(PreTokenizedString& pts) const {
  const char32_t d = delimiter_;
  split_on_chars(pts, SplitBehavior::Removed, [d](char32_t c) { return c == d; });
}

void FixedLengthPreTokenizer::pre_tokenize(PreTokenizedString& pts) const {
  pts.split([&](size_t, NormalizedString&& ns, std::vector<Split>& out) {
    const std::string& t = ns.get();
    size_t i = 0;
    while (i < t.size()) {
      const size_t start = i;
      for (size_t k = 0; k < length_ && i < t.size(); ++k) utf8_next(t, i);
      auto piece = ns.slice(start, i);
      if (!piece)
        throw ValueError("[tokenizer] FixedLength: failed to slice normalized text");
      out.push_back({std::move(*piece), std::nullopt});
    }
  });
}

}  // namespace peftcpp::tok
