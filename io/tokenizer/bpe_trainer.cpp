// Byte-level BPE trainer (see bpe_trainer.h): word counting through the ByteLevel
// pre-tokenizer, then greedy merges with a lazily updated max-heap of pair counts and, per pair,
// the list of words it occurs in.
#include "io/tokenizer/bpe_trainer.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <queue>
#include <unordered_map>

#include "io/tokenizer/models.h"
#include "io/tokenizer/pre_tokenizers.h"
#include "tensor/error.h"

namespace peftcpp {

struct BpeTrainer::State {
  std::unordered_map<std::string, uint64_t, tok::StringHash, std::equal_to<>> words;
};

BpeTrainer::BpeTrainer(BpeTrainerOptions options)
    : opt_(std::move(options)), state_(std::make_unique<State>()) {}
BpeTrainer::~BpeTrainer() = default;
BpeTrainer::BpeTrainer(BpeTrainer&&) noexcept = default;
BpeTrainer& BpeTrainer::operator=(BpeTrainer&&) noexcept = default;

void BpeTrainer::feed(std::string_view sequence) {
  if (!tok::is_valid_utf8(sequence))
    throw ValueError("[bpe_trainer] feed: input is not UTF-8");
  tok::PreTokenizedString pts(sequence);
  tok::ByteLevelPreTokenizer(opt_.add_prefix_space, true).pre_tokenize(pts);
  for (const auto& s : pts.splits()) {
    auto it = state_->words.find(s.normalized.get());
    if (it == state_->words.end()) {
      state_->words.emplace(s.normalized.get(), 1);
    } else {
      ++it->second;
    }
  }
}

void BpeTrainer::feed_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw IoError(detail::concat("[bpe_trainer] cannot open ", path));
  std::string line;
  while (std::getline(in, line)) {
    if (!in.eof())
      line.push_back('\n');
    feed(line);
  }
  if (in.bad())
    throw IoError(detail::concat("[bpe_trainer] cannot read ", path));
}

size_t BpeTrainer::distinct_words() const {
  return state_->words.size();
}

namespace {

using PairKey = uint64_t;
PairKey key(uint32_t a, uint32_t b) {
  return (static_cast<uint64_t>(a) << 32) | b;
}

struct Entry {
  int64_t count;
  uint32_t a, b;
  bool operator<(const Entry& o) const {  // max-heap: higher count, then smaller pair
    if (count != o.count)
      return count < o.count;
    return std::tie(a, b) > std::tie(o.a, o.b);
  }
};

struct TrainWord {
  std::vector<uint32_t> syms;
  int64_t count;
};

}  // namespace

std::string BpeTrainer::train_json(bool pretty) const {
  // 1. Special tokens, then the alphabet sorted by code point.
  std::vector<std::string> id_to_word;
  std::unordered_map<std::string, uint32_t, tok::StringHash, std::equal_to<>> word_to_id;
  auto add_word = [&](const std::string& w) -> uint32_t {
    auto it = word_to_id.find(w);
    if (it != word_to_id.end())
      return it->second;
    const auto id = static_cast<uint32_t>(id_to_word.size());
    id_to_word.push_back(w);
    word_to_id.emplace(w, id);
    return id;
  };
  for (const auto& s : opt_.special_tokens) {
    if (!s.empty())
      add_word(s);
  }
  std::map<char32_t, uint64_t> alphabet;
  for (const auto& [w, n] : state_->words) {
    size_t i = 0;
    while (i < w.size()) alphabet[tok::utf8_next(w, i)] += n;
  }
  // The 256 characters of the alphabet, with an "infinite" count so that limit_alphabet keeps
  // them over rarer characters (as initial_alphabet in the library).
  {
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const char32_t c = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
      alphabet[c] = UINT64_MAX;
    }
  }
  std::vector<std::pair<char32_t, uint64_t>> kept(alphabet.begin(), alphabet.end());
  if (opt_.limit_alphabet && kept.size() > *opt_.limit_alphabet) {
    std::stable_sort(
        kept.begin(), kept.end(), [](const auto& x, const auto& y) { return x.second < y.second; });
    kept.erase(
        kept.begin(),
        kept.begin() + static_cast<std::ptrdiff_t>(kept.size() - *opt_.limit_alphabet));
    std::sort(kept.begin(), kept.end());
  }
  for (const auto& [c, n] : kept) add_word(tok::utf8_encode(c));

  // 2. Words as symbol ids (characters outside the kept alphabet are dropped), sorted so that
  // the result does not depend on hash order.
  std::vector<std::pair<std::string, uint64_t>> sorted(state_->words.begin(), state_->words.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<TrainWord> words;
  words.reserve(sorted.size());
  for (const auto& [w, n] : sorted) {
    TrainWord tw{{}, static_cast<int64_t>(n)};
    size_t i = 0;
    while (i < w.size()) {
      const size_t at = i;
      tok::utf8_next(w, i);
      auto it = word_to_id.find(std::string_view(w).substr(at, i - at));
      if (it != word_to_id.end())
        tw.syms.push_back(it->second);
    }
    words.push_back(std::move(tw));
  }
  std::vector<size_t> char_len(id_to_word.size());
  for (size_t id = 0; id < id_to_word.size(); ++id) char_len[id] = tok::utf8_count(id_to_word[id]);

  // 3. Pair counts and where each pair occurs.
  std::unordered_map<PairKey, int64_t> counts;
  std::unordered_map<PairKey, std::vector<uint32_t>> where;
  for (size_t w = 0; w < words.size(); ++w) {
    const auto& s = words[w].syms;
    for (size_t k = 0; k + 1 < s.size(); ++k) {
      counts[key(s[k], s[k + 1])] += words[w].count;
      auto& list = where[key(s[k], s[k + 1])];
      if (list.empty() || list.back() != w)
        list.push_back(static_cast<uint32_t>(w));
    }
  }
  std::priority_queue<Entry> queue;
  for (const auto& [k, n] : counts) {
    if (n > 0)
      queue.push({n, static_cast<uint32_t>(k >> 32), static_cast<uint32_t>(k)});
  }

  // 4. Merges.
  const size_t max_len = opt_.max_token_length.value_or(SIZE_MAX);
  std::vector<std::pair<uint32_t, uint32_t>> merges;
  std::vector<PairKey> touched;
  while (id_to_word.size() < opt_.vocab_size && !queue.empty()) {
    const Entry top = queue.top();
    queue.pop();
    const PairKey pk = key(top.a, top.b);
    const int64_t cur = counts[pk];
    if (cur != top.count) {
      if (cur > 0)
        queue.push({cur, top.a, top.b});
      continue;
    }
    if (cur < 1 || static_cast<uint64_t>(cur) < opt_.min_frequency)
      break;
    const uint32_t new_id = add_word(id_to_word[top.a] + id_to_word[top.b]);
    if (new_id == char_len.size())
      char_len.push_back(char_len[top.a] + char_len[top.b]);
    merges.emplace_back(top.a, top.b);
    std::vector<uint32_t> in = std::move(where[pk]);
    where.erase(pk);
    std::sort(in.begin(), in.end());
    in.erase(std::unique(in.begin(), in.end()), in.end());
    touched.clear();
    auto bump = [&](uint32_t x, uint32_t y, int64_t d, uint32_t w) {
      const PairKey k = key(x, y);
      counts[k] += d;
      if (d > 0) {
        auto& list = where[k];
        if (list.empty() || list.back() != w)
          list.push_back(w);
        touched.push_back(k);
      }
    };
    for (uint32_t w : in) {
      auto& s = words[w].syms;
      const int64_t n = words[w].count;
      size_t i = 0;
      while (i + 1 < s.size()) {
        if (s[i] != top.a || s[i + 1] != top.b) {
          ++i;
          continue;
        }
        counts[pk] -= n;
        if (i > 0) {
          bump(s[i - 1], top.a, -n, w);
          if (char_len[s[i - 1]] + char_len[new_id] <= max_len)
            bump(s[i - 1], new_id, n, w);
        }
        if (i + 2 < s.size()) {
          bump(top.b, s[i + 2], -n, w);
          if (char_len[new_id] + char_len[s[i + 2]] <= max_len)
            bump(new_id, s[i + 2], n, w);
        }
        s[i] = new_id;
        s.erase(s.begin() + static_cast<std::ptrdiff_t>(i) + 1);
        ++i;
      }
    }
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (PairKey k : touched) {
      const int64_t n = counts[k];
      if (n > 0)
        queue.push({n, static_cast<uint32_t>(k >> 32), static_cast<uint32_t>(k)});
    }
  }

  // 5. tokenizer.json, laid out as the library writes it.
  using OJ = nlohmann::ordered_json;
  OJ root;
  root["version"] = "1.0";
  root["truncation"] = nullptr;
  root["padding"] = nullptr;
  OJ added = OJ::array();
  for (const auto& s : opt_.special_tokens) {
    if (s.empty())
      continue;
    added.push_back(
        {{"id", word_to_id.at(s)},
         {"content", s},
         {"single_word", false},
         {"lstrip", false},
         {"rstrip", false},
         {"normalized", false},
         {"special", true}});
  }
  root["added_tokens"] = added;
  root["normalizer"] = nullptr;
  root["pre_tokenizer"] = {
      {"type", "ByteLevel"},
      {"add_prefix_space", opt_.add_prefix_space},
      {"trim_offsets", true},
      {"use_regex", true}};
  root["post_processor"] = {
      {"type", "ByteLevel"},
      {"add_prefix_space", true},
      {"trim_offsets", false},
      {"use_regex", true}};
  root["decoder"] = {
      {"type", "ByteLevel"},
      {"add_prefix_space", true},
      {"trim_offsets", true},
      {"use_regex", true}};
  OJ vocab = OJ::object();
  for (size_t id = 0; id < id_to_word.size(); ++id) vocab[id_to_word[id]] = id;
  OJ m = OJ::array();
  for (const auto& [a, b] : merges) m.push_back({id_to_word[a], id_to_word[b]});
  root["model"] = {
      {"type", "BPE"},
      {"dropout", nullptr},
      {"unk_token", nullptr},
      {"continuing_subword_prefix", nullptr},
      {"end_of_word_suffix", nullptr},
      {"fuse_unk", false},
      {"byte_fallback", false},
      {"ignore_merges", false},
      {"vocab", vocab},
      {"merges", m}};
  return root.dump(pretty ? 2 : -1);
}

Tokenizer BpeTrainer::train() const {
  return Tokenizer::from_json(train_json(false), "<bpe_trainer>");
}

}  // namespace peftcpp
