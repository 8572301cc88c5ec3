// Unigram model: port of tokenizers/src/models/unigram/{model,trie}.rs (Viterbi over the
// byte positions of a piece, unknown characters fused into one piece, optional byte fallback).
#include <algorithm>
#include <cstdio>
#include <limits>

#include "io/tokenizer/models.h"
#include "tensor/error.h"

namespace peftcpp::tok {

// Byte trie over the vocabulary; each node keeps its children sorted by byte.
struct UnigramModel::Trie {
  struct Node {
    std::vector<std::pair<unsigned char, uint32_t>> children;
    int64_t token_id = -1;
  };
  std::vector<Node> nodes{1};

  void insert(std::string_view key, uint32_t id) {
    uint32_t cur = 0;
    for (char ch : key) {
      const auto b = static_cast<unsigned char>(ch);
      auto& ch_list = nodes[cur].children;
      auto it =
          std::lower_bound(ch_list.begin(), ch_list.end(), b, [](const auto& p, unsigned char v) {
            return p.first < v;
          });
      if (it != ch_list.end() && it->first == b) {
        cur = it->second;
      } else {
        const auto next = static_cast<uint32_t>(nodes.size());
        ch_list.insert(it, {b, next});
        nodes.emplace_back();
        cur = next;
      }
    }
    nodes[cur].token_id = id;
  }

  // Calls fn(length, id) for every vocabulary entry that prefixes `s`, shortest first.
  template <class Fn>
  void common_prefix_search(std::string_view s, Fn&& fn) const {
    uint32_t cur = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      const auto b = static_cast<unsigned char>(s[i]);
      const auto& ch_list = nodes[cur].children;
      auto it =
          std::lower_bound(ch_list.begin(), ch_list.end(), b, [](const auto& p, unsigned char v) {
            return p.first < v;
          });
      if (it == ch_list.end() || it->first != b)
        return;
      cur = it->second;
      if (nodes[cur].token_id >= 0)
        fn(i + 1, static_cast<uint32_t>(nodes[cur].token_id));
    }
  }
};

UnigramModel::UnigramModel(
    std::vector<std::pair<std::string, double>> vocab,
    std::optional<size_t> unk_id,
    bool byte_fallback,
    const std::string& context)
    : vocab_(std::move(vocab)), unk_id_(unk_id), byte_fallback_(byte_fallback) {
  if (unk_id_) {
    if (vocab_.empty()) {
      throw ConfigError(detail::concat(
          "[tokenizer] ", context, ": the vocabulary is empty but at least <unk> is needed"));
    }
    if (*unk_id_ >= vocab_.size()) {
      throw ConfigError(detail::concat(
          "[tokenizer] ",
          context,
          ": unk_id ",
          *unk_id_,
          " is not smaller than the vocabulary size ",
          vocab_.size()));
    }
  }
  min_score_ = std::numeric_limits<double>::infinity();
  for (size_t id = 0; id < vocab_.size(); ++id) {
    token_to_ids_[vocab_[id].first] = static_cast<uint32_t>(id);
    min_score_ = std::min(min_score_, vocab_[id].second);
  }
  trie_ = std::make_unique<Trie>();
  for (const auto& [tok, id] : token_to_ids_) trie_->insert(tok, id);
}

UnigramModel::~UnigramModel() = default;

std::optional<uint32_t> UnigramModel::token_to_id(std::string_view token) const {
  auto it = token_to_ids_.find(token);
  if (it == token_to_ids_.end())
    return std::nullopt;
  return it->second;
}

std::optional<std::string> UnigramModel::id_to_token(uint32_t id) const {
  if (id < vocab_.size())
    return vocab_[id].first;
  return std::nullopt;
}

void UnigramModel::encode(std::string_view sentence, std::vector<std::string>& pieces) const {
  pieces.clear();
  if (sentence.empty())
    return;
  constexpr double kUnkPenalty = 10.0;
  struct Best {
    size_t id = 0;
    double score = 0.0;
    std::optional<size_t> starts_at;
  };
  const size_t size = sentence.size();
  const double unk_score = min_score_ - kUnkPenalty;
  std::vector<Best> best(size + 1);
  size_t starts_at = 0;
  while (starts_at < size) {
    const double here = best[starts_at].score;
    bool has_single_node = false;
    const size_t mblen =
        std::min(utf8_seq_len(static_cast<unsigned char>(sentence[starts_at])), size - starts_at);
    trie_->common_prefix_search(sentence.substr(starts_at), [&](size_t len, uint32_t id) {
      Best& target = best[starts_at + len];
      const double cand = vocab_[id].second + here;
      if (!target.starts_at || cand > target.score) {
        target.score = cand;
        target.starts_at = starts_at;
        target.id = id;
      }
      if (!has_single_node && len == mblen)
        has_single_node = true;
    });
    if (!has_single_node) {
      Best& target = best[starts_at + mblen];
      const double cand = unk_score + here;
      if (!target.starts_at || cand > target.score) {
        if (!unk_id_) {
          throw ValueError("[tokenizer] model.Unigram: unknown piece but no unk_id is set");
        }
        target.score = cand;
        target.starts_at = starts_at;
        target.id = *unk_id_;
      }
    }
    starts_at += mblen;
  }
  size_t ends_at = size;
  std::vector<std::string_view> unk_run;  // consecutive unknown pieces, in reverse order
  auto flush_unk = [&]() {
    if (unk_run.empty())
      return;
    std::string fused;
    for (auto it = unk_run.rbegin(); it != unk_run.rend(); ++it) fused += *it;
    pieces.push_back(std::move(fused));
    unk_run.clear();
  };
  while (ends_at > 0) {
    const Best& node = best[ends_at];
    const size_t start = *node.starts_at;
    const std::string_view piece = sentence.substr(start, ends_at - start);
    if (unk_id_ && node.id == *unk_id_) {
      unk_run.push_back(piece);
    } else {
      flush_unk();
      pieces.emplace_back(piece);
    }
    ends_at = start;
  }
  flush_unk();
  std::reverse(pieces.begin(), pieces.end());
}

void UnigramModel::tokenize(std::string_view sentence, std::vector<Token>& out) const {
  thread_local std::vector<std::string> pieces;
  encode(sentence, pieces);
  size_t offset = 0;
  for (auto& piece : pieces) {
    const size_t len = piece.size();
    auto it = token_to_ids_.find(piece);
    if (it != token_to_ids_.end()) {
      out.push_back(Token{it->second, std::move(piece), offset, offset + len});
      offset += len;
      continue;
    }
    if (byte_fallback_) {
      std::vector<Token> bytes;
      bool all = true;
      for (char ch : piece) {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", static_cast<unsigned char>(ch));
        auto b = token_to_ids_.find(std::string_view(name));
        if (b == token_to_ids_.end()) {
          all = false;
          break;
        }
        bytes.push_back(Token{b->second, name, offset, offset + len});
      }
      if (all) {
        for (auto& t : bytes) out.push_back(std::move(t));
        offset += len;
        continue;
      }
    }
    if (!unk_id_)
      throw ValueError("[tokenizer] model.Unigram: unknown piece but no unk_id is set");
    out.push_back(Token{static_cast<uint32_t>(*unk_id_), std::move(piece), offset, offset + len});
    offset += len;
  }
}

}  // namespace peftcpp::tok
