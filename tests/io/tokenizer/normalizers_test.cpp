// Normalizers and NormalizedString alignments, against values worked out by hand from the
// crate's rules (each normalized byte keeps the original span of the char it came from).
#include "io/tokenizer/normalizers.h"

#include <doctest/doctest.h>

#include "tok_test_util.h"

using peftcpp::tok::NormalizedString;
using peftcpp::tok::Span;

namespace {

// Original span of normalized bytes [s, e).
Span orig(const NormalizedString& n, size_t s, size_t e) {
  return *n.normalized_to_original(s, e);
}

std::string b64(const std::string& in) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    for (int k = 3; k >= 0; --k) out.push_back(tbl[(v >> (6 * k)) & 63]);
  }
  if (i + 1 == in.size()) {
    const uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    out += std::string{tbl[(v >> 18) & 63], tbl[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const uint32_t v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += std::string{tbl[(v >> 18) & 63], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], '='};
  }
  return out;
}

}  // namespace

TEST_CASE("NFD splits a precomposed char and both parts keep its original span") {
  NormalizedString n("\xC3\xA9!");  // é!
  n.nfd();
  CHECK(n.get() == "e\xCC\x81!");
  CHECK(orig(n, 0, 1) == Span{0, 2});
  CHECK(orig(n, 1, 3) == Span{0, 2});
  CHECK(orig(n, 3, 4) == Span{2, 3});
}

TEST_CASE("NFC composes e + combining acute and aligns the result with the base letter") {
  NormalizedString n("e\xCC\x81!");
  n.nfc();
  CHECK(n.get() == "\xC3\xA9!");
  CHECK(orig(n, 0, 2) == Span{0, 1});  // the crate's (char, -1) takes the first char's span
  CHECK(orig(n, 2, 3) == Span{3, 4});
}

TEST_CASE("NFKC and NFKD expand compatibility characters") {
  NormalizedString a("\xEF\xAC\x81x");  // ﬁx
  a.nfkc();
  CHECK(a.get() == "fix");
  CHECK(orig(a, 0, 1) == Span{0, 3});
  CHECK(orig(a, 1, 2) == Span{0, 3});
  CHECK(orig(a, 2, 3) == Span{3, 4});
  NormalizedString b("\xE2\x91\xA0");  // ① -> 1
  b.nfkd();
  CHECK(b.get() == "1");
}

TEST_CASE("Lowercase maps dotted capital I to two characters") {
  NormalizedString n(
      "\xC4\xB0"
      "A");  // İA
  n.lowercase();
  CHECK(
      n.get() ==
      "i\xCC\x87"
      "a");
  CHECK(orig(n, 0, 1) == Span{0, 2});
  CHECK(orig(n, 1, 3) == Span{0, 2});
  CHECK(orig(n, 3, 4) == Span{2, 3});
  NormalizedString s("\xCE\xA3\xCE\xA3");  // ΣΣ: no final-sigma rule
  s.lowercase();
  CHECK(s.get() == "\xCF\x83\xCF\x83");
}

TEST_CASE("StripAccents removes the combining mark and keeps the base span") {
  NormalizedString n("e\xCC\x81x");
  peftcpp::tok::StripAccentsNormalizer().normalize(n);
  CHECK(n.get() == "ex");
  CHECK(orig(n, 0, 1) == Span{0, 1});
  CHECK(orig(n, 1, 2) == Span{3, 4});
}

TEST_CASE("BertNormalizer cleans, pads CJK, strips accents and lowercases") {
  NormalizedString n("H\xC3\xA9llo\t\xE4\xB8\x96\x01");  // Héllo<TAB>世<U+0001>
  peftcpp::tok::BertNormalizer(true, true, std::nullopt, true).normalize(n);
  CHECK(n.get() == "hello  \xE4\xB8\x96 ");
  CHECK(orig(n, 6, 7) == Span{7, 10});   // space inserted before 世
  CHECK(orig(n, 7, 10) == Span{7, 10});  // 世
  CHECK(orig(n, 10, 11) == Span{7, 10});
  CHECK(orig(n, 5, 6) == Span{6, 7});  // the tab became a space
  NormalizedString keep("\xC3\x89");   // É, strip_accents=false, lowercase=true
  peftcpp::tok::BertNormalizer(true, true, false, true).normalize(keep);
  CHECK(keep.get() == "\xC3\xA9");
}

TEST_CASE("BertNormalizer clean_text removes Cc, Cf and Co but not unassigned code points") {
  // U+E001 (private use) and U+200B (format) go; U+0378 (unassigned) and U+08E2 (a format
  // character only since Unicode 9, after the tables of the unicode_categories crate) stay.
  NormalizedString n(
      "a\xEE\x80\x81"
      "b\xCD\xB8"
      "c\xE2\x80\x8B"
      "d\xE0\xA3\xA2"
      "e");
  peftcpp::tok::BertNormalizer(true, false, false, false).normalize(n);
  CHECK(
      n.get() ==
      "ab\xCD\xB8"
      "cd\xE0\xA3\xA2"
      "e");
}

TEST_CASE("Replace aligns the replacement with the last byte of the match") {
  peftcpp::tok::ReplaceNormalizer r(" {2,}", " ", "test");
  NormalizedString n("a   b");
  r.normalize(n);
  CHECK(n.get() == "a b");
  CHECK(orig(n, 1, 2) == Span{3, 4});
  CHECK(orig(n, 2, 3) == Span{4, 5});
  peftcpp::tok::ReplaceNormalizer lit(peftcpp::tok::regex_escape("a.b"), "X", "test");
  NormalizedString m("a.b acb");
  lit.normalize(m);
  CHECK(m.get() == "X acb");  // the dot is literal
}

TEST_CASE("Prepend aligns the prefix with the first character") {
  NormalizedString n("ab");
  peftcpp::tok::PrependNormalizer("\xE2\x96\x81").normalize(n);  // ▁
  CHECK(
      n.get() ==
      "\xE2\x96\x81"
      "ab");
  CHECK(orig(n, 0, 3) == Span{0, 1});
  CHECK(orig(n, 3, 4) == Span{0, 1});
  NormalizedString empty("");
  peftcpp::tok::PrependNormalizer("\xE2\x96\x81").normalize(empty);
  CHECK(empty.get().empty());
}

TEST_CASE("Strip removes whitespace on the chosen sides") {
  NormalizedString both("  ab ");
  peftcpp::tok::StripNormalizer(true, true).normalize(both);
  CHECK(both.get() == "ab");
  CHECK(orig(both, 0, 2) == Span{2, 4});
  NormalizedString left("  ab ");
  peftcpp::tok::StripNormalizer(true, false).normalize(left);
  CHECK(left.get() == "ab ");
}

TEST_CASE("Precompiled charsmap rewrites matched characters") {
  // Double array with one key "a" -> "bc": root offset 1, unit at 1^'a' = 96 with label 'a',
  // leaf flag and offset 1, value unit at 97 pointing at byte 0 of "bc\0".
  std::vector<uint32_t> units(98, 0);
  units[0] = 1u << 10;
  units[96] = 'a' | (1u << 8) | (1u << 10);
  units[97] = 0;
  std::string blob;
  const uint32_t size = static_cast<uint32_t>(units.size() * 4);
  for (int k = 0; k < 4; ++k) blob.push_back(static_cast<char>((size >> (8 * k)) & 0xFF));
  for (uint32_t u : units) {
    for (int k = 0; k < 4; ++k) blob.push_back(static_cast<char>((u >> (8 * k)) & 0xFF));
  }
  blob += std::string("bc\0", 3);
  peftcpp::tok::PrecompiledNormalizer p(blob, "test");
  NormalizedString n("xa");
  p.normalize(n);
  CHECK(n.get() == "xbc");
  CHECK(orig(n, 1, 2) == Span{1, 2});
  CHECK(orig(n, 2, 3) == Span{1, 2});
  // The same map loaded from tokenizer.json (base64) inside a Sequence with Lowercase.
  const std::string json = tok_test::tokenizer_json(
      tok_test::word_level({"xbc"}),
      R"({"type":"Sequence","normalizers":[{"type":"Lowercase"},)"
      R"({"type":"Precompiled","precompiled_charsmap":")" +
          b64(blob) + R"("}]})");
  auto t = peftcpp::Tokenizer::from_json(json);
  auto e = t.encode("XA", false);
  CHECK(e.tokens == std::vector<std::string>{"xbc"});
  CHECK(e.offsets == tok_test::offs({{0, 2}}));
}

TEST_CASE("slice keeps alignments relative to the piece and its shift") {
  NormalizedString n(
      "ab\xC3\xA9"
      "cd");  // abécd
  auto s = n.slice(2, 5);
  REQUIRE(s);
  CHECK(
      s->get() ==
      "\xC3\xA9"
      "c");
  CHECK(s->offsets_original() == Span{2, 5});
  CHECK(!n.slice(3, 5));  // not a char boundary
}
