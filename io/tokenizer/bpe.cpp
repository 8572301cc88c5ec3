// BPE model: port of tokenizers/src/models/bpe/{model,word}.rs (crate 0.22.2).
//
// Merging uses the crate's algorithm (a min-heap of candidate merges keyed by (rank, position)
// over a linked list of symbols), so ties resolve identically. Merged words are cached
// (word -> (id, byte length) list), as the crate does; the cache never changes results.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <queue>

#include "io/tokenizer/models.h"
#include "tensor/error.h"

namespace peftcpp::tok {

// Open-addressing map (a, b) -> (rank, new id). Later duplicates overwrite earlier ones, as the
// crate's HashMap collect does.
struct BpeModel::MergeTable {
  struct Slot {
    uint64_t key;
    uint32_t rank;
    uint32_t new_id;
    bool used;
  };
  std::vector<Slot> slots;
  uint64_t mask = 0;

  explicit MergeTable(size_t n) {
    size_t cap = 16;
    while (cap < n * 2 + 1) cap <<= 1;
    slots.assign(cap, Slot{0, 0, 0, false});
    mask = cap - 1;
  }
  static uint64_t hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
  }
  void put(uint32_t a, uint32_t b, uint32_t rank, uint32_t new_id) {
    const uint64_t key = (static_cast<uint64_t>(a) << 32) | b;
    for (uint64_t i = hash(key) & mask;; i = (i + 1) & mask) {
      if (!slots[i].used || slots[i].key == key) {
        slots[i] = Slot{key, rank, new_id, true};
        return;
      }
    }
  }
  const Slot* get(uint32_t a, uint32_t b) const {
    const uint64_t key = (static_cast<uint64_t>(a) << 32) | b;
    for (uint64_t i = hash(key) & mask;; i = (i + 1) & mask) {
      if (!slots[i].used)
        return nullptr;
      if (slots[i].key == key)
        return &slots[i];
    }
  }
};

// Insert-only cache word -> merged word, in flat arrays (open addressing), guarded by a
// shared mutex: lookups copy the word out under a shared lock; inserts take the lock only if it
// is free (as the crate's try_write) and stop once the cache is full.
class BpeModel::WordCache {
 public:
  static constexpr size_t kMaxEntries = 1u << 17;
  static constexpr size_t kMaxKeyLength = 256;

  bool find(std::string_view key, uint64_t h, Word& out) const {
    std::shared_lock lock(mutex_);
    if (slots_.empty())
      return false;
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key_len == kEmpty)
        return false;
      if (s.hash == h && s.key_len == key.size() &&
          std::memcmp(keys_.data() + s.key_off, key.data(), key.size()) == 0) {
        out.assign(words_.begin() + s.word_off, words_.begin() + s.word_off + s.word_len);
        return true;
      }
    }
  }

  void insert(std::string_view key, uint64_t h, const Word& word) {
    std::unique_lock lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock() || count_ >= kMaxEntries)
      return;
    if ((count_ + 1) * 2 > slots_.size())
      grow();
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.key_len == kEmpty) {
        s = Slot{
            h,
            static_cast<uint32_t>(keys_.size()),
            static_cast<uint32_t>(key.size()),
            static_cast<uint32_t>(words_.size()),
            static_cast<uint32_t>(word.size())};
        keys_.append(key);
        words_.insert(words_.end(), word.begin(), word.end());
        ++count_;
        return;
      }
      if (s.hash == h && s.key_len == key.size() &&
          std::memcmp(keys_.data() + s.key_off, key.data(), key.size()) == 0) {
        return;
      }
    }
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  struct Slot {
    uint64_t hash = 0;
    uint32_t key_off = 0;
    uint32_t key_len = kEmpty;
    uint32_t word_off = 0;
    uint32_t word_len = 0;
  };
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.key_len == kEmpty)
        continue;
      size_t i = s.hash & mask_;
      while (slots_[i].key_len != kEmpty) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }
  mutable std::shared_mutex mutex_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;
  std::string keys_;
  std::vector<std::pair<uint32_t, uint32_t>> words_;
};

BpeModel::BpeModel(
    Vocab vocab_map,
    const std::vector<std::pair<std::string, std::string>>& merges,
    BpeOptions options,
    const std::string& context)
    : opt_(std::move(options)) {
  const Vocab& vocab = vocab_map;
  vocab_.build(vocab);
  if (opt_.dropout && (*opt_.dropout < 0.0f || *opt_.dropout > 1.0f)) {
    throw ConfigError(detail::concat(
        "[tokenizer] ", context, ": dropout must be in [0, 1], got ", *opt_.dropout));
  }
  vocab_r_.build(vocab);
  merges_ = std::make_unique<MergeTable>(merges.size());
  const size_t prefix_len =
      opt_.continuing_subword_prefix ? opt_.continuing_subword_prefix->size() : 0;
  auto id_of = [&](const std::string& t) -> uint32_t {
    const uint32_t* id = vocab_.find(t);
    if (id == nullptr) {
      throw ConfigError(detail::concat(
          "[tokenizer] ", context, ": merge token '", t, "' is not in the vocabulary"));
    }
    return *id;
  };
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    const uint32_t a_id = id_of(a), b_id = id_of(b);
    const std::string merged = a + (b.size() >= prefix_len ? b.substr(prefix_len) : std::string());
    merges_->put(a_id, b_id, static_cast<uint32_t>(rank), id_of(merged));
  }
  cache_ = std::make_unique<WordCache>();
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    if (const uint32_t* id = vocab_.find(std::string_view(name)))
      byte_ids_[b] = *id;
  }
}

BpeModel::~BpeModel() = default;

std::optional<uint32_t> BpeModel::token_to_id(std::string_view token) const {
  if (const uint32_t* id = vocab_.find(token))
    return *id;
  return std::nullopt;
}

std::optional<std::string> BpeModel::id_to_token(uint32_t id) const {
  if (const auto* s = vocab_r_.find(id))
    return *s;
  return std::nullopt;
}

namespace {

struct Sym {
  uint32_t c;
  int32_t prev;
  int32_t next;
  uint32_t len;
};

struct Cand {
  uint32_t rank;
  uint32_t pos;
  uint32_t new_id;
  bool operator<(const Cand& o) const {  // std::priority_queue is a max-heap: invert
    return rank != o.rank ? rank > o.rank : pos > o.pos;
  }
};

void add_symbol(std::vector<Sym>& syms, uint32_t c, uint32_t len) {
  const auto n = static_cast<int32_t>(syms.size());
  if (!syms.empty())
    syms.back().next = n;
  syms.push_back({c, n - 1, -1, len});
}

float uniform01() {
  thread_local uint64_t state = 0x9E3779B97F4A7C15ull;
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return static_cast<float>(state >> 40) / static_cast<float>(1ull << 24);
}

}  // namespace

void BpeModel::merge_word(std::string_view w, Word& word) const {
  thread_local std::vector<Sym> syms;
  syms.clear();
  bool has_unk = false;
  uint32_t unk_tok = 0, unk_len = 0;
  auto unk_id = [&]() -> uint32_t {
    const uint32_t* id = vocab_.find(*opt_.unk_token);
    if (id == nullptr) {
      throw ValueError(detail::concat(
          "[tokenizer] model.BPE: unk_token '", *opt_.unk_token, "' is not in the vocabulary"));
    }
    return *id;
  };
  std::string key;
  size_t i = 0;
  while (i < w.size()) {
    const size_t start = i;
    i += utf8_seq_len(static_cast<unsigned char>(w[i]));
    if (i > w.size())
      i = w.size();
    const auto byte_len = static_cast<uint32_t>(i - start);
    const bool is_first = start == 0, is_last = i == w.size();
    std::string_view s = w.substr(start, i - start);
    const bool decorate =
        (!is_first && opt_.continuing_subword_prefix) || (is_last && opt_.end_of_word_suffix);
    if (decorate) {
      key.clear();
      if (!is_first && opt_.continuing_subword_prefix)
        key += *opt_.continuing_subword_prefix;
      key += s;
      if (is_last && opt_.end_of_word_suffix)
        key += *opt_.end_of_word_suffix;
      s = key;
    }
    if (const uint32_t* id = vocab_.find(s)) {
      if (has_unk) {
        add_symbol(syms, unk_tok, unk_len);
        has_unk = false;
      }
      add_symbol(syms, *id, byte_len);
      continue;
    }
    if (opt_.byte_fallback) {
      bool all = true;
      for (char ch : s) all = all && byte_ids_[static_cast<unsigned char>(ch)].has_value();
      if (all) {
        for (char ch : s) add_symbol(syms, *byte_ids_[static_cast<unsigned char>(ch)], 1);
        continue;
      }
    }
    if (opt_.unk_token) {
      if (has_unk && opt_.fuse_unk) {
        unk_len += byte_len;
      } else {
        if (has_unk)
          add_symbol(syms, unk_tok, unk_len);
        unk_tok = unk_id();
        unk_len = byte_len;
        has_unk = true;
      }
    }
  }
  if (has_unk)
    add_symbol(syms, unk_tok, unk_len);

  // merge_all
  const bool use_dropout = opt_.dropout && *opt_.dropout > 0.0f;
  std::priority_queue<Cand> queue;
  std::vector<Cand> skip;
  for (size_t k = 0; k + 1 < syms.size(); ++k) {
    if (const auto* m = merges_->get(syms[k].c, syms[k + 1].c)) {
      queue.push({m->rank, static_cast<uint32_t>(k), m->new_id});
    }
  }
  const auto n = static_cast<int64_t>(syms.size());
  while (!queue.empty()) {
    const Cand top = queue.top();
    queue.pop();
    if (use_dropout && uniform01() < *opt_.dropout) {
      skip.push_back(top);
      continue;
    }
    for (const auto& s : skip) queue.push(s);
    skip.clear();
    Sym& cur = syms[top.pos];
    if (cur.len == 0 || cur.next == -1)
      continue;
    const auto next_pos = static_cast<size_t>(cur.next);
    const Sym right = syms[next_pos];
    const auto* target = merges_->get(cur.c, right.c);
    if (target == nullptr || target->new_id != top.new_id)
      continue;
    cur.c = top.new_id;
    cur.len += right.len;
    cur.next = right.next;
    syms[next_pos].len = 0;
    if (right.next > -1 && right.next < n)
      syms[static_cast<size_t>(right.next)].prev = static_cast<int32_t>(top.pos);
    const Sym now = syms[top.pos];
    if (now.prev >= 0) {
      if (const auto* m = merges_->get(syms[static_cast<size_t>(now.prev)].c, now.c)) {
        queue.push({m->rank, static_cast<uint32_t>(now.prev), m->new_id});
      }
    }
    if (now.next >= 0 && now.next < n) {
      if (const auto* m = merges_->get(now.c, syms[static_cast<size_t>(now.next)].c)) {
        queue.push({m->rank, top.pos, m->new_id});
      }
    }
  }
  word.clear();
  for (const auto& s : syms) {
    if (s.len != 0)
      word.emplace_back(s.c, s.len);
  }
}

void BpeModel::emit(const Word& word, std::vector<Token>& out) const {
  size_t pos = 0;
  for (const auto& [id, len] : word) {
    const std::string* s = vocab_r_.find(id);
    out.push_back(Token{id, s != nullptr ? *s : std::string(), pos, pos + len});
    pos += len;
  }
}

void BpeModel::tokenize(std::string_view sequence, std::vector<Token>& out) const {
  if (sequence.empty())
    return;
  const bool cacheable = !(opt_.dropout && *opt_.dropout > 0.0f);
  if (cacheable && opt_.ignore_merges) {
    if (const uint32_t* id = vocab_.find(sequence)) {
      out.push_back(Token{*id, std::string(sequence), 0, sequence.size()});
      return;
    }
  }
  const bool use_cache = cacheable && sequence.size() < WordCache::kMaxKeyLength;
  thread_local Word word;
  const uint64_t h = use_cache ? StringHash{}(sequence) : 0;
  if (use_cache && cache_->find(sequence, h, word)) {
    emit(word, out);
    return;
  }
  merge_word(sequence, word);
  emit(word, out);
  if (use_cache)
    cache_->insert(sequence, h, word);
}

}  // namespace peftcpp::tok
