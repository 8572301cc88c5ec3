// Added tokens (special or not) and their extraction from the input before and after
// normalization: port of tokenizers/src/tokenizer/added_vocabulary.rs (internal header).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "io/tokenizer/models.h"
#include "io/tokenizer/normalizers.h"
#include "io/tokenizer/pre_tokenized.h"

namespace peftcpp::tok {

struct AddedToken {
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
  bool operator==(const AddedToken&) const = default;
};

/// Leftmost-longest multi-pattern matcher over bytes (aho-corasick MatchKind::LeftmostLongest).
class LeftmostLongestMatcher {
 public:
  void build(const std::vector<std::string>& patterns);
  /// Non-overlapping matches as (pattern index, start, end), left to right.
  void find_all(std::string_view text, std::vector<std::tuple<size_t, size_t, size_t>>& out) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, uint32_t>> children;
    int64_t pattern = -1;
  };
  std::vector<Node> nodes_;
  bool first_byte_[256] = {};
};

class AddedVocabulary {
 public:
  /// AddedVocabulary::add_tokens; ids come from the model vocab or follow its size.
  void add_tokens(
      const std::vector<AddedToken>& tokens, const Model& model, const Normalizer* normalizer);

  std::optional<uint32_t> token_to_id(std::string_view token, const Model& model) const;
  /// simple_id_to_token.
  const std::string* id_to_token(uint32_t id) const;
  bool is_special_token(std::string_view token) const;
  size_t size() const {
    return map_.size();
  }
  const std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>>& map() const {
    return map_;
  }
  const std::unordered_map<uint32_t, AddedToken>& map_r() const {
    return map_r_;
  }
  bool empty() const {
    return map_.empty();
  }

  /// Splits out added tokens, normalizing the pieces in between (extract_and_normalize).
  void extract_and_normalize(const Normalizer* normalizer, PreTokenizedString& pts) const;

 private:
  struct MatchingSet {
    LeftmostLongestMatcher matcher;
    std::vector<uint32_t> ids;
  };
  void refresh(const Model& model, const Normalizer* normalizer);
  void split_with(NormalizedString&& ns, const MatchingSet& set, std::vector<Split>& out) const;

  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> map_;
  std::unordered_map<uint32_t, AddedToken> map_r_;
  std::vector<AddedToken> added_tokens_;
  std::vector<AddedToken> special_tokens_;
  std::unordered_set<std::string, StringHash, std::equal_to<>> special_set_;
  MatchingSet split_trie_;
  MatchingSet split_normalized_trie_;
};

}  // namespace peftcpp::tok
