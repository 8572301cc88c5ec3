// Vocabulary containers shared by the models: string hash, flat token -> id map, id -> token.
#include <algorithm>
#include <cstring>

#include "io/tokenizer/models.h"
#include "tensor/error.h"

namespace peftcpp::tok {

size_t StringHash::operator()(std::string_view s) const noexcept {
  // FNV-1a over 8-byte words, finished with a multiply-xorshift: fast for short tokens.
  uint64_t h = 0xcbf29ce484222325ull ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, s.data() + i, s.size() - i);
  h = (h ^ tail) * 0x9E3779B97F4A7C15ull;
  return static_cast<size_t>(h ^ (h >> 32));
}

void FlatVocab::build(const Vocab& vocab) {
  size_t cap = 16;
  while (cap < vocab.size() * 2 + 1) cap <<= 1;
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  size_ = vocab.size();
  keys_.clear();
  for (const auto& [tok, id] : vocab) {
    const uint64_t h = StringHash{}(tok);
    size_t i = h & mask_;
    while (slots_[i].len != kEmpty) i = (i + 1) & mask_;
    slots_[i] = Slot{h, static_cast<uint32_t>(keys_.size()), static_cast<uint32_t>(tok.size()), id};
    keys_ += tok;
  }
}

void ReverseVocab::build(const Vocab& vocab) {
  uint32_t max_id = 0;
  for (const auto& [tok, id] : vocab) max_id = std::max(max_id, id);
  strings_.clear();
  present_.clear();
  sparse_.clear();
  if (max_id >= 2 * vocab.size() + 65536) {
    for (const auto& [tok, id] : vocab) sparse_[id] = tok;
    return;
  }
  const size_t n = vocab.empty() ? 0 : static_cast<size_t>(max_id) + 1;
  strings_.assign(n, std::string());
  present_.assign(n, false);
  for (const auto& [tok, id] : vocab) {
    strings_[id] = tok;
    present_[id] = true;
  }
}

}  // namespace peftcpp::tok
