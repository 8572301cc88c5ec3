// AddedVocabulary: port of tokenizers/src/tokenizer/added_vocabulary.rs (crate 0.22.2).
#include "io/tokenizer/added_vocabulary.h"

#include <algorithm>
#include <unordered_set>

#include "tensor/error.h"

namespace peftcpp::tok {

void LeftmostLongestMatcher::build(const std::vector<std::string>& patterns) {
  nodes_.assign(1, Node{});
  std::fill(std::begin(first_byte_), std::end(first_byte_), false);
  for (size_t p = 0; p < patterns.size(); ++p) {
    const std::string& pat = patterns[p];
    if (pat.empty())
      continue;
    first_byte_[static_cast<unsigned char>(pat[0])] = true;
    uint32_t cur = 0;
    for (char ch : pat) {
      const auto b = static_cast<unsigned char>(ch);
      auto& kids = nodes_[cur].children;
      auto it = std::find_if(kids.begin(), kids.end(), [b](const auto& k) { return k.first == b; });
      if (it != kids.end()) {
        cur = it->second;
      } else {
        const auto next = static_cast<uint32_t>(nodes_.size());
        kids.emplace_back(b, next);
        nodes_.emplace_back();
        cur = next;
      }
    }
    if (nodes_[cur].pattern < 0)
      nodes_[cur].pattern = static_cast<int64_t>(p);
  }
}

void LeftmostLongestMatcher::find_all(
    std::string_view text, std::vector<std::tuple<size_t, size_t, size_t>>& out) const {
  out.clear();
  if (nodes_.size() <= 1)
    return;
  size_t pos = 0;
  while (pos < text.size()) {
    if (!first_byte_[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    uint32_t cur = 0;
    int64_t best = -1;
    size_t best_end = 0;
    for (size_t i = pos; i < text.size(); ++i) {
      const auto b = static_cast<unsigned char>(text[i]);
      const auto& kids = nodes_[cur].children;
      auto it = std::find_if(kids.begin(), kids.end(), [b](const auto& k) { return k.first == b; });
      if (it == kids.end())
        break;
      cur = it->second;
      if (nodes_[cur].pattern >= 0) {
        best = nodes_[cur].pattern;
        best_end = i + 1;
      }
    }
    if (best >= 0) {
      out.emplace_back(static_cast<size_t>(best), pos, best_end);
      pos = best_end;
    } else {
      ++pos;
    }
  }
}

std::optional<uint32_t> AddedVocabulary::token_to_id(
    std::string_view token, const Model& model) const {
  auto it = map_.find(token);
  if (it != map_.end())
    return it->second;
  return model.token_to_id(token);
}

const std::string* AddedVocabulary::id_to_token(uint32_t id) const {
  auto it = map_r_.find(id);
  return it == map_r_.end() ? nullptr : &it->second.content;
}

bool AddedVocabulary::is_special_token(std::string_view token) const {
  return special_set_.find(token) != special_set_.end();
}

void AddedVocabulary::add_tokens(
    const std::vector<AddedToken>& tokens, const Model& model, const Normalizer* normalizer) {
  for (const auto& t : tokens) {
    if (t.special && !t.content.empty() && !special_set_.count(t.content)) {
      special_tokens_.push_back(t);
      special_set_.insert(t.content);
    }
  }
  std::vector<AddedToken> existing;
  for (const auto& [id, t] : map_r_) existing.push_back(t);
  uint32_t next_id = static_cast<uint32_t>(model.vocab_size());
  if (!map_r_.empty()) {
    uint32_t max = 0;
    for (const auto& [id, t] : map_r_) max = std::max(max, id);
    if (max >= model.vocab_size() || model.vocab_size() == 0)
      next_id = max + 1;
  }
  for (const auto& t : tokens) {
    if (t.content.empty() || std::find(existing.begin(), existing.end(), t) != existing.end()) {
      continue;
    }
    uint32_t id;
    if (auto known = token_to_id(t.content, model)) {
      id = *known;
    } else {
      id = next_id++;
    }
    map_[t.content] = id;
    map_r_[id] = t;
    if (!special_set_.count(t.content))
      added_tokens_.push_back(t);
    existing.push_back(t);
  }
  refresh(model, normalizer);
}

void AddedVocabulary::refresh(const Model& model, const Normalizer* normalizer) {
  std::vector<std::string> raw, norm;
  split_trie_.ids.clear();
  split_normalized_trie_.ids.clear();
  auto visit = [&](const AddedToken& t) {
    const uint32_t id = *token_to_id(t.content, model);
    if (t.normalized) {
      NormalizedString ns(t.content);
      if (normalizer != nullptr)
        normalizer->normalize(ns);
      norm.push_back(ns.get());
      split_normalized_trie_.ids.push_back(id);
    } else {
      raw.push_back(t.content);
      split_trie_.ids.push_back(id);
    }
  };
  for (const auto& t : special_tokens_) visit(t);
  for (const auto& t : added_tokens_) visit(t);
  split_trie_.matcher.build(raw);
  split_normalized_trie_.matcher.build(norm);
}

namespace {

bool ends_with_word(std::string_view s) {
  if (s.empty())
    return false;
  size_t b = s.size() - 1;
  while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
  return is_word_char(utf8_next(s, b));
}

bool starts_with_word(std::string_view s) {
  if (s.empty())
    return false;
  size_t i = 0;
  return is_word_char(utf8_next(s, i));
}

// Start of the trailing whitespace run of `s` (regex \s*$).
size_t space_leftmost_at_end(std::string_view s) {
  size_t pos = s.size();
  while (pos > 0) {
    size_t b = pos - 1;
    while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
    size_t i = b;
    if (!is_whitespace(utf8_next(s, i)))
      break;
    pos = b;
  }
  return pos;
}

// Length of the leading whitespace run of `s` (regex ^\s*).
size_t space_rightmost_at_start(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    if (!is_whitespace(utf8_next(s, j)))
      break;
    i = j;
  }
  return i;
}

}  // namespace

void AddedVocabulary::split_with(
    NormalizedString&& ns, const MatchingSet& set, std::vector<Split>& out) const {
  const std::string& sentence = ns.get();
  struct Piece {
    std::optional<uint32_t> id;
    size_t start, end;
  };
  std::vector<Piece> pieces;
  if (sentence.empty()) {
    pieces.push_back({std::nullopt, 0, 0});
  } else {
    thread_local std::vector<std::tuple<size_t, size_t, size_t>> found;
    set.matcher.find_all(sentence, found);
    size_t start_offset = 0;
    for (const auto& [pat, s0, e0] : found) {
      size_t start = s0, stop = e0;
      const uint32_t id = set.ids[pat];
      const AddedToken& tok = map_r_.at(id);
      if (tok.single_word) {
        const bool start_space =
            start == 0 || !ends_with_word(std::string_view(sentence).substr(0, start));
        const bool stop_space =
            stop == sentence.size() || !starts_with_word(std::string_view(sentence).substr(stop));
        if (!stop_space || !start_space)
          continue;
      }
      if (tok.lstrip) {
        const size_t newstart = space_leftmost_at_end(std::string_view(sentence).substr(0, start));
        start = std::max(newstart, start_offset);
      }
      if (tok.rstrip)
        stop += space_rightmost_at_start(std::string_view(sentence).substr(stop));
      if (start_offset < start)
        pieces.push_back({std::nullopt, start_offset, start});
      pieces.push_back({id, start, stop});
      start_offset = stop;
    }
    if (start_offset != sentence.size()) {
      pieces.push_back({std::nullopt, start_offset, sentence.size()});
    }
  }
  const auto& al = ns.alignments();
  if (pieces.size() == 1 && !pieces[0].id && pieces[0].start == 0 &&
      pieces[0].end == sentence.size() && !al.empty() && al.front().start == 0 &&
      al.back().end == ns.len_original()) {
    // Nothing matched and slicing the whole piece would give back an identical piece.
    out.push_back({std::move(ns), std::nullopt});
    return;
  }
  for (const auto& p : pieces) {
    auto slice = ns.slice(p.start, p.end);
    if (!slice)
      throw ValueError("[tokenizer] AddedVocabulary bad split");
    if (p.id) {
      std::string value = slice->get();
      const size_t len = value.size();
      std::vector<Token> toks;
      toks.push_back(Token{*p.id, std::move(value), 0, len});
      out.push_back({std::move(*slice), std::move(toks)});
    } else {
      out.push_back({std::move(*slice), std::nullopt});
    }
  }
}

void AddedVocabulary::extract_and_normalize(
    const Normalizer* normalizer, PreTokenizedString& pts) const {
  pts.split([&](size_t, NormalizedString&& ns, std::vector<Split>& out) {
    split_with(std::move(ns), split_trie_, out);
  });
  pts.split([&](size_t, NormalizedString&& ns, std::vector<Split>& out) {
    if (normalizer != nullptr)
      normalizer->normalize(ns);
    split_with(std::move(ns), split_normalized_trie_, out);
  });
}

}  // namespace peftcpp::tok
