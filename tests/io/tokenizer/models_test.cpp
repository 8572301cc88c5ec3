// Models (BPE, WordPiece, WordLevel, Unigram) on small vocabularies, expected tokens worked out
// by hand from the merge ranks / greedy matching / Viterbi scores.
#include <doctest/doctest.h>

#include "tok_test_util.h"

using peftcpp::Tokenizer;
using tok_test::offs;
using tok_test::tokenizer_json;
using V = std::vector<std::string>;

namespace {

const char* kWs = R"({"type":"WhitespaceSplit"})";

Tokenizer bpe(const std::string& vocab, const std::string& merges, const std::string& extra = "") {
  return Tokenizer::from_json(tokenizer_json(
      R"({"type":"BPE","dropout":null,"vocab":)" + vocab + R"(,"merges":)" + merges + extra + "}",
      "null",
      kWs));
}

V toks(const Tokenizer& t, const std::string& s) {
  return t.encode(s, false).tokens;
}

}  // namespace

TEST_CASE("BPE applies merges by rank, in both merge formats") {
  const std::string vocab = R"({"a":0,"b":1,"c":2,"ab":3,"bc":4,"abc":5})";
  // (b,c) has the best rank, then (a,bc).
  const auto t1 = bpe(vocab, R"(["b c","a b","a bc"])");
  const auto t2 = bpe(vocab, R"([["b","c"],["a","b"],["a","bc"]])");
  CHECK(toks(t1, "abc") == V{"abc"});
  CHECK(toks(t2, "abc") == V{"abc"});
  CHECK(toks(t1, "cab") == V{"c", "ab"});
  // With (a,b) first, "abc" stops at ab + c (no (ab,c) merge).
  const auto t3 = bpe(vocab, R"(["a b","b c"])");
  CHECK(toks(t3, "abc") == V{"ab", "c"});
  const auto e = t1.encode("cab abc", false);
  CHECK(e.ids == std::vector<uint32_t>{2, 3, 5});
  CHECK(e.offsets == offs({{0, 1}, {1, 3}, {4, 7}}));
}

TEST_CASE("BPE unknown characters: unk_token, fuse_unk, byte_fallback") {
  const std::string vocab = R"({"<unk>":0,"a":1,"<0x78>":2,"<0xC3>":3,"<0xA9>":4})";
  const auto plain = bpe(vocab, "[]", R"(,"unk_token":"<unk>")");
  CHECK(toks(plain, "yya") == V{"<unk>", "<unk>", "a"});
  const auto fused = bpe(vocab, "[]", R"(,"unk_token":"<unk>","fuse_unk":true)");
  const auto e = fused.encode("yya", false);
  CHECK(e.tokens == V{"<unk>", "a"});
  CHECK(e.offsets == offs({{0, 2}, {2, 3}}));
  const auto bytes = bpe(vocab, "[]", R"(,"unk_token":"<unk>","byte_fallback":true)");
  const auto b = bytes.encode("x\xC3\xA9y", false);
  CHECK(b.tokens == V{"<0x78>", "<0xC3>", "<0xA9>", "<unk>"});
  CHECK(b.offsets == offs({{0, 1}, {1, 2}, {1, 2}, {2, 3}}));  // code points
  const auto none = bpe(vocab, "[]");  // no unk_token: unknown characters vanish
  CHECK(toks(none, "yay") == V{"a"});
}

TEST_CASE("BPE continuing_subword_prefix and end_of_word_suffix shape the symbols") {
  const auto pre =
      bpe(R"({"a":0,"##b":1,"ab":2})", R"(["a ##b"])", R"(,"continuing_subword_prefix":"##")");
  CHECK(toks(pre, "ab") == V{"ab"});
  CHECK(toks(pre, "abb") == V{"ab", "##b"});
  const auto suf = bpe(
      R"({"a":0,"b</w>":1,"ab</w>":2,"b":3})", R"(["a b</w>"])", R"(,"end_of_word_suffix":"</w>")");
  CHECK(toks(suf, "ab") == V{"ab</w>"});
  CHECK(toks(suf, "ba") == V{"b"});  // 'a' as the last symbol is "a</w>": not in the vocab
}

TEST_CASE("BPE ignore_merges takes a whole word that is in the vocabulary") {
  const std::string vocab = R"({"a":0,"b":1,"c":2,"ab":3,"abc":4})";
  CHECK(toks(bpe(vocab, R"(["a b"])"), "abc") == V{"ab", "c"});
  CHECK(toks(bpe(vocab, R"(["a b"])", R"(,"ignore_merges":true)"), "abc") == V{"abc"});
}

TEST_CASE("WordPiece matches the longest prefix, then ## pieces, else [UNK] for the word") {
  const auto t = Tokenizer::from_json(tokenizer_json(
      R"({"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##",)"
      R"("max_input_chars_per_word":8,"vocab":{"[UNK]":0,"un":1,"##aff":2,"##able":3,"a":4,)"
      R"("##b":5,"una":6}})",
      "null",
      kWs));
  CHECK(toks(t, "unaffable") == V{"[UNK]"});  // 9 characters > 8
  CHECK(toks(t, "unaff") == V{"[UNK]"});      // "una" first, then no "##ff..." piece
  const auto e = t.encode("ab unx", false);
  CHECK(e.tokens == V{"a", "##b", "[UNK]"});
  CHECK(e.offsets == offs({{0, 1}, {1, 2}, {3, 6}}));
}

TEST_CASE("WordPiece greedy choice can fail where another split would succeed") {
  const auto t = Tokenizer::from_json(tokenizer_json(
      R"({"type":"WordPiece","vocab":{"[UNK]":0,"un":1,"##aff":2,"una":3,"##able":4}})",
      "null",
      kWs));
  // Longest first: "una" then "##ffable" has no match, so the whole word is [UNK].
  CHECK(toks(t, "unaffable") == V{"[UNK]"});
  CHECK(toks(t, "unable") == V{"[UNK]"});  // "una" again, then no "##ble"
  CHECK(toks(t, "un") == V{"un"});
}

TEST_CASE("WordLevel maps whole pieces, unknown ones to unk_token") {
  const auto t = Tokenizer::from_json(tokenizer_json(tok_test::word_level({"hello"}), "null", kWs));
  CHECK(t.encode("hello world", false).ids == std::vector<uint32_t>{0, 1});
}

TEST_CASE("Unigram picks the best-scoring segmentation") {
  const auto t = Tokenizer::from_json(tokenizer_json(
      R"({"type":"Unigram","unk_id":0,"vocab":[["<unk>",0.0],["a",-1.0],["b",-1.0],)"
      R"(["ab",-1.5],["abc",-4.0],["c",-2.0],["<0x78>",-3.0]]})",
      "null",
      kWs));
  // a+b+c = -4, ab+c = -3.5, abc = -4: ab + c wins.
  CHECK(toks(t, "abc") == V{"ab", "c"});
  // Unknown characters score min - 10 = -14 and consecutive ones are fused; the token keeps the
  // original text while its id is unk_id.
  const auto e = t.encode("ayyb", false);
  CHECK(e.tokens == V{"a", "yy", "b"});
  CHECK(e.ids == std::vector<uint32_t>{1, 0, 2});
  CHECK(e.offsets == offs({{0, 1}, {1, 3}, {3, 4}}));
}

TEST_CASE("Unigram byte_fallback spells unknown pieces as <0xXX> tokens") {
  const auto t = Tokenizer::from_json(tokenizer_json(
      R"({"type":"Unigram","unk_id":0,"byte_fallback":true,"vocab":[["<unk>",0.0],)"
      R"(["a",-1.0],["<0x78>",-3.0]]})",
      "null",
      kWs));
  const auto e = t.encode("axy", false);
  // "xy" is one fused unknown piece; 'y' has no byte token, so the piece is unk as a whole.
  CHECK(e.tokens == V{"a", "xy"});
  CHECK(e.ids == std::vector<uint32_t>{1, 0});
  const auto x = t.encode("ax", false);
  CHECK(x.tokens == V{"a", "<0x78>"});
  CHECK(x.ids == std::vector<uint32_t>{1, 2});
}

TEST_CASE("vocab_size, token_to_id and id_to_token cover added tokens") {
  const auto t = Tokenizer::from_json(tokenizer_json(
      tok_test::word_level({"a", "b"}),
      "null",
      kWs,
      "null",
      "null",
      R"([{"id":3,"content":"<x>","special":true},{"id":0,"content":"a","special":false}])"));
  CHECK(t.vocab_size(false) == 3);
  CHECK(t.vocab_size(true) == 4);
  CHECK(t.token_to_id("<x>") == 3u);
  CHECK(t.token_to_id("b") == 1u);
  CHECK(t.id_to_token(3) == std::string("<x>"));
  CHECK(!t.token_to_id("zzz"));
  CHECK(!t.id_to_token(99));
}

TEST_CASE("sparse token ids far beyond the vocabulary size work") {
  const auto t = Tokenizer::from_json(tokenizer_json(
      R"({"type":"BPE","vocab":{"a":0,"b":4000000000,"ab":7},"merges":["a b"]})", "null", kWs));
  const auto e = t.encode("ab b", false);
  CHECK(e.ids == std::vector<uint32_t>{7, 4000000000u});
  CHECK(t.id_to_token(4000000000u) == std::string("b"));
  CHECK(t.decode({7, 4000000000u}) == "ab b");
}
