// Pre-tokenizers: the pieces and their original byte offsets, worked out by hand.
#include "io/tokenizer/pre_tokenizers.h"

#include <doctest/doctest.h>

#include "tok_test_util.h"

using namespace peftcpp::tok;
using tok_test::Pieces;

namespace {

Pieces run(const PreTokenizer& p, const std::string& text) {
  PreTokenizedString pts(text);
  p.pre_tokenize(pts);
  return tok_test::pieces(pts);
}

std::vector<std::string> texts(const Pieces& ps) {
  std::vector<std::string> out;
  for (const auto& p : ps) out.push_back(p.first);
  return out;
}

using V = std::vector<std::string>;

}  // namespace

TEST_CASE("ByteLevel splits with the GPT-2 regex and maps bytes to printable characters") {
  const auto ps = run(ByteLevelPreTokenizer(false, true), "Hello world's 12");
  CHECK(
      ps == Pieces{
                {"Hello", {0, 5}},
                {"\xC4\xA0world", {5, 11}},
                {"'s", {11, 13}},
                {"\xC4\xA0"
                 "12",
                 {13, 16}}});
  // Only the last space of a run goes with the next word (\s+(?!\S)).
  CHECK(
      texts(run(ByteLevelPreTokenizer(false, true), "a  b")) == V{"a",
                                                                  "\xC4\xA0",
                                                                  "\xC4\xA0"
                                                                  "b"});
  // A two-byte character becomes two alphabet characters sharing its span.
  CHECK(
      run(ByteLevelPreTokenizer(false, true), "\xC3\xA9") == Pieces{{"\xC3\x83\xC2\xA9", {0, 2}}});
}

TEST_CASE("ByteLevel add_prefix_space adds one space aligned with the first character") {
  CHECK(run(ByteLevelPreTokenizer(true, true), "Hi") == Pieces{{"\xC4\xA0Hi", {0, 2}}});
  CHECK(run(ByteLevelPreTokenizer(true, true), " Hi") == Pieces{{"\xC4\xA0Hi", {0, 3}}});
  // Without the regex the whole text stays one piece.
  CHECK(
      texts(run(ByteLevelPreTokenizer(false, false), "a b")) == V{"a\xC4\xA0"
                                                                  "b"});
}

TEST_CASE("Split applies every delimiter behaviour") {
  const std::string text = "a-b--c";
  const std::string dash = regex_escape("-");
  auto split = [&](SplitBehavior b, bool invert = false) {
    return texts(run(SplitPreTokenizer(dash, b, invert, "test"), text));
  };
  CHECK(split(SplitBehavior::Removed) == V{"a", "b", "c"});
  CHECK(split(SplitBehavior::Isolated) == V{"a", "-", "b", "-", "-", "c"});
  CHECK(split(SplitBehavior::MergedWithPrevious) == V{"a-", "b-", "-", "c"});
  CHECK(split(SplitBehavior::MergedWithNext) == V{"a", "-b", "-", "-c"});
  CHECK(split(SplitBehavior::Contiguous) == V{"a", "-", "b", "--", "c"});
  CHECK(split(SplitBehavior::Removed, true) == V{"-", "-", "-"});
  const auto digits =
      run(SplitPreTokenizer(R"(\p{N}{1,3})", SplitBehavior::Isolated, false, "t"), "x12345");
  CHECK(digits == Pieces{{"x", {0, 1}}, {"123", {1, 4}}, {"45", {4, 6}}});
}

TEST_CASE("Metaspace replaces spaces and prepends per prepend_scheme") {
  const std::string m = "\xE2\x96\x81";  // ▁
  CHECK(
      run(MetaspacePreTokenizer(0x2581, PrependScheme::Always, true), "Hey friend") ==
      Pieces{{m + "Hey", {0, 3}}, {m + "friend", {3, 10}}});
  CHECK(
      texts(run(MetaspacePreTokenizer(0x2581, PrependScheme::Never, true), "Hey friend")) ==
      V{"Hey", m + "friend"});
  CHECK(
      texts(run(MetaspacePreTokenizer(0x2581, PrependScheme::Always, false), "Hey friend")) ==
      V{m + "Hey" + m + "friend"});
  // "first" only prepends to the piece that starts the text.
  std::vector<std::unique_ptr<PreTokenizer>> first, always;
  first.push_back(std::make_unique<WhitespaceSplitPreTokenizer>());
  first.push_back(std::make_unique<MetaspacePreTokenizer>(0x2581, PrependScheme::First, true));
  always.push_back(std::make_unique<WhitespaceSplitPreTokenizer>());
  always.push_back(std::make_unique<MetaspacePreTokenizer>(0x2581, PrependScheme::Always, true));
  CHECK(texts(run(SequencePreTokenizer(std::move(first)), "a b")) == V{m + "a", "b"});
  CHECK(texts(run(SequencePreTokenizer(std::move(always)), "a b")) == V{m + "a", m + "b"});
}

TEST_CASE("Whitespace, WhitespaceSplit and BertPreTokenizer") {
  CHECK(
      run(WhitespacePreTokenizer(), "Hi, you!") ==
      Pieces{{"Hi", {0, 2}}, {",", {2, 3}}, {"you", {4, 7}}, {"!", {7, 8}}});
  CHECK(
      texts(
          run(WhitespaceSplitPreTokenizer(),
              "a  b\tc\xC2\x85"
              "d")) == V{"a", "b", "c", "d"});
  CHECK(texts(run(BertPreTokenizer(), "Hi,there! x$")) == V{"Hi", ",", "there", "!", "x", "$"});
}

TEST_CASE("Punctuation, Digits, CharDelimiterSplit and FixedLength") {
  CHECK(texts(run(PunctuationPreTokenizer(SplitBehavior::Isolated), "a.b")) == V{"a", ".", "b"});
  CHECK(
      texts(run(PunctuationPreTokenizer(SplitBehavior::Contiguous), "a..b")) == V{"a", "..", "b"});
  CHECK(texts(run(DigitsPreTokenizer(true), "a12b")) == V{"a", "1", "2", "b"});
  CHECK(texts(run(DigitsPreTokenizer(false), "a12b")) == V{"a", "12", "b"});
  CHECK(texts(run(CharDelimiterSplitPreTokenizer('_'), "a_b")) == V{"a", "b"});
  CHECK(
      run(FixedLengthPreTokenizer(2), "abcde") ==
      Pieces{{"ab", {0, 2}}, {"cd", {2, 4}}, {"e", {4, 5}}});
}

TEST_CASE("Sequence runs Split then a plain ByteLevel mapping like the two steps apart") {
  const std::string re = R"( ?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+|\s+)";
  std::vector<std::unique_ptr<PreTokenizer>> fused;
  fused.push_back(std::make_unique<SplitPreTokenizer>(re, SplitBehavior::Isolated, false, "t"));
  fused.push_back(std::make_unique<ByteLevelPreTokenizer>(false, false));
  const std::string text = "Caf\xC3\xA9 42!";
  PreTokenizedString two(text);
  SplitPreTokenizer(re, SplitBehavior::Isolated, false, "t").pre_tokenize(two);
  ByteLevelPreTokenizer(false, false).pre_tokenize(two);
  const auto expect = tok_test::pieces(two);
  CHECK(run(SequencePreTokenizer(std::move(fused)), text) == expect);
  CHECK(
      expect == Pieces{
                    {"Caf\xC3\x83\xC2\xA9", {0, 5}},
                    {"\xC4\xA0", {5, 6}},
                    {"4", {6, 7}},
                    {"2", {7, 8}},
                    {"!", {8, 9}}});
}
