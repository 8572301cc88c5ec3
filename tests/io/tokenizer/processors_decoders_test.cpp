// Post-processors (template, Bert, Roberta, ByteLevel, Sequence) and decoders.
#include <doctest/doctest.h>

#include "tok_test_util.h"

using peftcpp::Tokenizer;
using tok_test::offs;
using tok_test::tokenizer_json;
using U = std::vector<uint32_t>;
using I = std::vector<int32_t>;
using V = std::vector<std::string>;

namespace {

const char* kWs = R"({"type":"WhitespaceSplit"})";
const char* kTemplate = R"({"type":"TemplateProcessing",
  "single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},
            {"SpecialToken":{"id":"[SEP]","type_id":0}}],
  "pair":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},
          {"SpecialToken":{"id":"[SEP]","type_id":0}},{"Sequence":{"id":"B","type_id":1}},
          {"SpecialToken":{"id":"[SEP]","type_id":1}}],
  "special_tokens":{"[CLS]":{"id":"[CLS]","ids":[10],"tokens":["[CLS]"]},
                    "[SEP]":{"id":"[SEP]","ids":[11],"tokens":["[SEP]"]}}})";

Tokenizer words(const std::string& post, const std::string& decoder = "null") {
  return Tokenizer::from_json(
      tokenizer_json(tok_test::word_level({"a", "b", "c"}), "null", kWs, post, decoder));
}

// Decodes `tokens` (each its own WordLevel entry) with `decoder`.
std::string decode_with(const std::string& decoder, const V& tokens) {
  std::string vocab = "{";
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0)
      vocab += ",";
    vocab += "\"" + tokens[i] + "\":" + std::to_string(i);
  }
  vocab += "}";
  const auto t = Tokenizer::from_json(tokenizer_json(
      R"({"type":"WordLevel","unk_token":"<unk>","vocab":)" + vocab + "}",
      "null",
      "null",
      "null",
      decoder));
  U ids;
  for (size_t i = 0; i < tokens.size(); ++i) ids.push_back(static_cast<uint32_t>(i));
  return t.decode(ids);
}

}  // namespace

TEST_CASE("TemplateProcessing adds specials with type ids for single and pair inputs") {
  const auto t = words(kTemplate);
  const auto s = t.encode("a b", true);
  CHECK(s.ids == U{10, 0, 1, 11});
  CHECK(s.type_ids == U{0, 0, 0, 0});
  CHECK(s.special_tokens_mask == U{1, 0, 0, 1});
  CHECK(s.sequence_ids == I{-1, 0, 0, -1});
  CHECK(s.offsets == offs({{0, 0}, {0, 1}, {2, 3}, {0, 0}}));
  const auto p = t.encode("a", "c b", true);
  CHECK(p.ids == U{10, 0, 11, 2, 1, 11});
  CHECK(p.type_ids == U{0, 0, 0, 1, 1, 1});
  CHECK(p.sequence_ids == I{-1, 0, -1, 1, 1, -1});
  CHECK(p.offsets == offs({{0, 0}, {0, 1}, {0, 0}, {0, 1}, {2, 3}, {0, 0}}));
  const auto n = t.encode("a", "c", false);  // no specials, but the template's type ids stay
  CHECK(n.ids == U{0, 2});
  CHECK(n.type_ids == U{0, 1});
}

TEST_CASE("BertProcessing wraps with cls/sep and types the second sequence as 1") {
  const auto t = words(R"({"type":"BertProcessing","sep":["[SEP]",11],"cls":["[CLS]",10]})");
  const auto p = t.encode("a", "b c", true);
  CHECK(p.ids == U{10, 0, 11, 1, 2, 11});
  CHECK(p.type_ids == U{0, 0, 0, 1, 1, 1});
  CHECK(p.special_tokens_mask == U{1, 0, 1, 0, 0, 1});
}

TEST_CASE("RobertaProcessing uses type id 0 everywhere and a double separator") {
  const auto t =
      words(R"({"type":"RobertaProcessing","sep":["</s>",12],"cls":["<s>",13],"trim_offsets":true,)"
            R"("add_prefix_space":true})");
  const auto p = t.encode("a", "b", true);
  CHECK(p.ids == U{13, 0, 12, 12, 1, 12});
  CHECK(p.type_ids == U{0, 0, 0, 0, 0, 0});
  CHECK(p.sequence_ids == I{-1, 0, -1, -1, 1, -1});
}

TEST_CASE("ByteLevel post-processor trims the spaces of token offsets") {
  const std::string model = R"({"type":"BPE","vocab":{"H":0,"i":1,"Hi":2,"\u0120":3,"\u0120Hi":4},)"
                            R"("merges":["H i","\u0120 Hi"]})";
  const std::string pre = R"({"type":"ByteLevel","add_prefix_space":false,"use_regex":true})";
  auto make = [&](bool trim) {
    return Tokenizer::from_json(tokenizer_json(
        model,
        "null",
        pre,
        std::string(R"({"type":"ByteLevel","add_prefix_space":false,"trim_offsets":)") +
            (trim ? "true" : "false") + "}"));
  };
  CHECK(make(false).encode("Hi Hi", true).offsets == offs({{0, 2}, {2, 5}}));
  CHECK(make(true).encode("Hi Hi", true).offsets == offs({{0, 2}, {3, 5}}));
  // Roberta-style trimming keeps the single prefix space of the first token when
  // add_prefix_space is set (it was added by the pre-tokenizer).
  const auto roberta = Tokenizer::from_json(tokenizer_json(
      model,
      "null",
      R"({"type":"ByteLevel","add_prefix_space":true,"use_regex":true})",
      R"({"type":"RobertaProcessing","sep":["</s>",5],"cls":["<s>",6],"trim_offsets":true,)"
      R"("add_prefix_space":true})"));
  const auto r = roberta.encode("Hi Hi", true);
  CHECK(r.tokens == V{"<s>", "\xC4\xA0Hi", "\xC4\xA0Hi", "</s>"});
  CHECK(r.offsets == offs({{0, 0}, {0, 2}, {3, 5}, {0, 0}}));
}

TEST_CASE("Sequence post-processor chains ByteLevel trimming and a template") {
  const std::string seq = std::string(R"({"type":"Sequence","processors":[)") +
                          R"({"type":"ByteLevel","trim_offsets":true,"add_prefix_space":false},)" +
                          kTemplate + "]}";
  const auto t = words(seq);
  CHECK(t.encode("a", true).ids == U{10, 0, 11});
}

TEST_CASE("decoders turn tokens back into text") {
  CHECK(decode_with(R"({"type":"ByteLevel"})", {"Hello", "\xC4\xA0world"}) == "Hello world");
  // An incomplete UTF-8 sequence becomes one replacement character.
  CHECK(decode_with(R"({"type":"ByteLevel"})", {"\xC3\x83"}) == "\xEF\xBF\xBD");
  CHECK(
      decode_with(
          R"({"type":"Metaspace","replacement":"\u2581","prepend_scheme":"always"})",
          {"\xE2\x96\x81Hey",
           "\xE2\x96\x81"
           "friend"}) == "Hey friend");
  CHECK(
      decode_with(
          R"({"type":"WordPiece","prefix":"##","cleanup":true})",
          {"un", "##aff", "##able", ",", "x", "."}) == "unaffable, x.");
  CHECK(decode_with(R"({"type":"BPEDecoder","suffix":"</w>"})", {"a</w>", "b</w>"}) == "a b");
  CHECK(
      decode_with(
          R"({"type":"CTC","pad_token":"<pad>","word_delimiter_token":"|",)"
          R"("cleanup":true})",
          {"<pad>", "h", "i", "|", "x"}) == "hi x");
  const std::string llama = R"({"type":"Sequence","decoders":[
      {"type":"Replace","pattern":{"String":"\u2581"},"content":" "},{"type":"ByteFallback"},
      {"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]})";
  CHECK(
      decode_with(
          llama,
          {"\xE2\x96\x81"
           "caf",
           "<0xC3>",
           "<0xA9>",
           "\xE2\x96\x81!"}) == "caf\xC3\xA9 !");
  CHECK(decode_with(llama, {"<0xC3>", "x"}) == "\xEF\xBF\xBDx");  // invalid byte run
}

TEST_CASE("decode skips special added tokens only when asked, and unknown ids always") {
  const auto t = Tokenizer::from_json(tokenizer_json(
      tok_test::word_level({"a", "b"}),
      "null",
      kWs,
      "null",
      "null",
      R"([{"id":3,"content":"<s>","special":true},{"id":4,"content":"<t>","special":false}])"));
  CHECK(t.decode({3, 0, 4, 1, 99}, false) == "<s> a <t> b");
  CHECK(t.decode({3, 0, 4, 1}, true) == "a <t> b");
}
