// Added tokens (special/non-special, lstrip/rstrip/single_word/normalized) and batch
// padding/truncation, against hand-worked expectations.
#include <doctest/doctest.h>

#include "tensor/error.h"
#include "tok_test_util.h"

using namespace peftcpp;
using tok_test::offs;
using tok_test::tokenizer_json;
using U = std::vector<uint32_t>;
using V = std::vector<std::string>;

namespace {

const char* kWs = R"({"type":"WhitespaceSplit"})";

Tokenizer with_added(const std::string& added, const std::string& normalizer = "null") {
  return Tokenizer::from_json(tokenizer_json(
      tok_test::word_level({"hello", "tok", "x"}), normalizer, kWs, "null", "null", added));
}

}  // namespace

TEST_CASE("an lstrip added token absorbs the spaces before it") {
  const auto t = with_added(R"([{"id":4,"content":"<mask>","lstrip":true,"special":true}])");
  const auto e = t.encode("hello  <mask>x", false);
  CHECK(e.tokens == V{"hello", "  <mask>", "x"});
  CHECK(e.ids == U{0, 4, 2});
  CHECK(e.offsets == offs({{0, 5}, {5, 13}, {13, 14}}));
}

TEST_CASE("an rstrip added token absorbs the spaces after it") {
  const auto t = with_added(R"([{"id":4,"content":"[X]","rstrip":true,"special":false}])");
  const auto e = t.encode("[X]  hello", false);
  CHECK(e.tokens == V{"[X]  ", "hello"});
  CHECK(e.offsets == offs({{0, 5}, {5, 10}}));
}

TEST_CASE("a single_word added token only matches outside words") {
  const auto t = with_added(R"([{"id":4,"content":"ab","single_word":true,"special":false}])");
  CHECK(t.encode("xab ab", false).ids == U{3, 4});  // "xab" is unk, then "ab" alone
  CHECK(t.encode("ab!", false).ids == U{4, 3});     // '!' is not a word character
}

TEST_CASE("normalized added tokens match after normalization, others before") {
  const auto t = with_added(
      R"([{"id":4,"content":"<SP>","normalized":false,"special":true},)"
      R"({"id":5,"content":"Tok","normalized":true,"special":false}])",
      R"({"type":"Lowercase"})");
  // "<SP>" matches the raw text; its lowercase spelling does not.
  CHECK(t.encode("<SP> <sp>", false).tokens == V{"<SP>", "<unk>"});
  // "Tok" was lowercased when added, so it matches "TOK" after lowercasing the text.
  const auto e = t.encode("TOK", false);
  CHECK(e.ids == U{5});
  CHECK(e.tokens == V{"tok"});
}

TEST_CASE("added tokens take their ids from the vocab or follow it") {
  const auto t = with_added(
      R"([{"id":99,"content":"hello","special":true},{"id":98,"content":"<a>","special":true},)"
      R"({"id":97,"content":"<b>","special":false}])");
  CHECK(t.token_to_id("hello") == 0u);  // already in the model vocab
  CHECK(t.token_to_id("<a>") == 4u);    // ids in the file are not used
  CHECK(t.token_to_id("<b>") == 5u);
  CHECK(t.encode("<a>hello<b>", false).ids == U{4, 0, 5});
}

namespace {

Tokenizer bert_like() {
  return Tokenizer::from_json(tokenizer_json(
      tok_test::word_level({"a", "b", "c", "d", "e", "[PAD]"}),
      "null",
      kWs,
      R"({"type":"BertProcessing","sep":["[SEP]",11],"cls":["[CLS]",10]})"));
}

}  // namespace

TEST_CASE("batch padding to the longest row, right and left, with pad_to_multiple_of") {
  auto t = bert_like();
  PaddingParams p;
  p.pad_id = 5;
  p.pad_token = "[PAD]";
  t.set_padding(p);
  auto b = t.encode_batch({"a b c", "d"});
  CHECK(b[0].ids == U{10, 0, 1, 2, 11});
  CHECK(b[1].ids == U{10, 3, 11, 5, 5});
  CHECK(b[1].attention_mask == U{1, 1, 1, 0, 0});
  CHECK(b[1].special_tokens_mask == U{1, 0, 1, 1, 1});
  CHECK(b[1].tokens[4] == "[PAD]");
  p.direction = PaddingDirection::Left;
  p.pad_to_multiple_of = 4;
  t.set_padding(p);
  b = t.encode_batch({"a b c", "d"});
  CHECK(b[0].ids == U{5, 5, 5, 10, 0, 1, 2, 11});
  CHECK(b[1].ids == U{5, 5, 5, 5, 5, 10, 3, 11});
  CHECK(b[1].offsets[0] == std::pair<size_t, size_t>(0, 0));
  p.strategy = PaddingStrategy::Fixed;
  p.fixed_length = 6;
  p.pad_to_multiple_of = 0;
  t.set_padding(p);
  CHECK(t.encode("a").ids == U{5, 5, 5, 10, 0, 11});  // single encode pads too
}

TEST_CASE("truncation counts the special tokens and cuts on the chosen side") {
  auto t = bert_like();
  TruncationParams tr;
  tr.max_length = 4;
  t.set_truncation(tr);
  CHECK(t.encode("a b c d").ids == U{10, 0, 1, 11});
  CHECK(t.encode("a b c d", false).ids == U{0, 1, 2, 3});  // no specials: 4 tokens fit
  tr.direction = TruncationDirection::Left;
  t.set_truncation(tr);
  CHECK(t.encode("a b c d").ids == U{10, 2, 3, 11});
}

TEST_CASE("pair truncation strategies") {
  auto t = bert_like();
  TruncationParams tr;
  tr.max_length = 7;  // 3 specials: 4 tokens for the two sequences
  t.set_truncation(tr);
  // longest_first: n1 = 1 <= 4, so n2 = max(1, 4 - 1) = 3.
  CHECK(t.encode("a", "b c d e", true).ids == U{10, 0, 11, 1, 2, 3, 11});
  // both long: 4 / 2 = 2 each.
  CHECK(t.encode("a b c", "c d e", true).ids == U{10, 0, 1, 11, 2, 3, 11});
  tr.strategy = TruncationStrategy::OnlySecond;
  t.set_truncation(tr);
  CHECK(t.encode("a b", "c d e", true).ids == U{10, 0, 1, 11, 2, 3, 11});
  tr.strategy = TruncationStrategy::OnlyFirst;
  t.set_truncation(tr);
  CHECK_THROWS_AS(t.encode("a", "b c d e", true), ValueError);  // first too short to cut
}

TEST_CASE("encode_batch_pairs pads pairs to the longest") {
  auto t = bert_like();
  PaddingParams p;
  p.pad_id = 5;
  t.set_padding(p);
  const auto b = t.encode_batch_pairs({{"a", "b"}, {"a b", "c d"}});
  CHECK(b[0].ids == U{10, 0, 11, 1, 11, 5, 5});
  CHECK(b[0].type_ids == U{0, 0, 0, 1, 1, 0, 0});
  CHECK(b[1].ids == U{10, 0, 1, 11, 2, 3, 11});
}
