// Malformed tokenizer.json files: each error names the component, the key and the file.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tensor/error.h"
#include "tok_test_util.h"

using namespace peftcpp;
using tok_test::tokenizer_json;

namespace {

const std::string kModel = tok_test::word_level({"a"});

// The message of the exception `fn` throws (as type E), or "" if none.
template <class E, class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

std::string load_error(const std::string& json) {
  return error_of<ConfigError>([&] { Tokenizer::from_json(json, "/x/tokenizer.json"); });
}

}  // namespace

TEST_CASE("a Split pre-tokenizer without pattern names component, key and file") {
  const auto msg = load_error(
      tokenizer_json(kModel, "null", R"({"type":"Split","behavior":"Isolated","invert":false})"));
  CHECK(msg == "[tokenizer] pre_tokenizer.Split: missing key 'pattern' in /x/tokenizer.json");
}

TEST_CASE("errors inside a Sequence give the path to the item") {
  const auto msg = load_error(tokenizer_json(
      kModel,
      "null",
      R"({"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},)"
      R"({"type":"Split","pattern":{"Regex":"a"}}]})"));
  CHECK(
      msg ==
      "[tokenizer] pre_tokenizer.pretokenizers[1].Split: missing key 'behavior' in "
      "/x/tokenizer.json");
}

TEST_CASE("unknown component types and missing type keys are reported") {
  CHECK(
      load_error(tokenizer_json(kModel, R"({"type":"Frobnicate"})")) ==
      "[tokenizer] normalizer: unknown type 'Frobnicate' in /x/tokenizer.json");
  CHECK(
      load_error(tokenizer_json(kModel, "null", "null", "null", R"({"prefix":"##"})")) ==
      "[tokenizer] decoder: missing key 'type' in /x/tokenizer.json");
}

TEST_CASE("bad values are reported with their key") {
  CHECK(
      load_error(tokenizer_json(kModel, R"({"type":"Prepend","prepend":3})")) ==
      "[tokenizer] normalizer.Prepend: key 'prepend' must be a string in /x/tokenizer.json");
  const auto regex = load_error(tokenizer_json(
      kModel, "null", R"({"type":"Split","pattern":{"Regex":"(a"},"behavior":"Isolated"})"));
  CHECK(regex.find("[tokenizer] pre_tokenizer.Split: invalid regex '(a'") == 0);
  CHECK(
      load_error(
          tokenizer_json(
              kModel, "null", R"({"type":"Split","pattern":{"Regex":"a"},"behavior":"Sideways"})"))
          .find("unknown behavior 'Sideways'") != std::string::npos);
}

TEST_CASE("model errors: missing vocab, merges outside the vocab, bad unk_id") {
  CHECK(
      load_error(tokenizer_json(R"({"type":"BPE","merges":[]})")) ==
      "[tokenizer] model.BPE: missing key 'vocab' in /x/tokenizer.json");
  CHECK(
      load_error(tokenizer_json(R"({"type":"BPE","vocab":{"a":0},"merges":["a b"]})")) ==
      "[tokenizer] model.BPE: merge token 'b' is not in the vocabulary");
  CHECK(
      load_error(tokenizer_json(R"({"type":"BPE","vocab":{"a":0},"merges":["a b c"]})"))
          .find("merge 1 (\"a b c\") is not \"a b\"") != std::string::npos);
  CHECK(
      load_error(tokenizer_json(R"({"type":"Unigram","unk_id":5,"vocab":[["a",0.0]]})"))
          .find("unk_id 5") != std::string::npos);
  CHECK(
      load_error(R"({"version":"1.0"})") ==
      "[tokenizer] tokenizer: missing key 'model' in /x/tokenizer.json");
}

TEST_CASE("template post-processor referencing an undefined special token") {
  const auto msg = load_error(tokenizer_json(
      kModel,
      "null",
      "null",
      R"({"type":"TemplateProcessing","single":"[CLS] $A","pair":"$A $B","special_tokens":{}})"));
  CHECK(msg.find("missing special token '[CLS]'") != std::string::npos);
}

TEST_CASE("unreadable files and invalid JSON are IoErrors") {
  CHECK(error_of<IoError>([] {
          Tokenizer::from_file("/nonexistent/tokenizer.json");
        }) == "[tokenizer] cannot open /nonexistent/tokenizer.json");
  const auto msg = error_of<IoError>([] { Tokenizer::from_json("{\"model\": ", "bad.json"); });
  CHECK(msg.find("[tokenizer] invalid JSON in bad.json") == 0);
}

TEST_CASE("encode rejects invalid UTF-8") {
  const auto t = Tokenizer::from_json(tokenizer_json(kModel));
  CHECK_THROWS_AS(t.encode(std::string("a\xC3")), ValueError);
  CHECK_THROWS_AS(t.encode(std::string("\xED\xA0\x80")), ValueError);  // a surrogate
}

TEST_CASE("template strings in the Python shorthand are accepted, and encode(a, b) is a pair") {
  const auto t = Tokenizer::from_json(tokenizer_json(
      tok_test::word_level({"a", "b"}),
      "null",
      R"({"type":"WhitespaceSplit"})",
      R"({"type":"TemplateProcessing","single":"[CLS] $A [SEP]",)"
      R"("pair":"[CLS] $A [SEP] $B:1 [SEP]:1",)"
      R"("special_tokens":{"[CLS]":{"id":"[CLS]","ids":[7],"tokens":["[CLS]"]},)"
      R"("[SEP]":{"id":"[SEP]","ids":[8],"tokens":["[SEP]"]}}})"));
  const auto e = t.encode("a", "b");
  CHECK(e.ids == std::vector<uint32_t>{7, 0, 8, 1, 8});
  CHECK(e.type_ids == std::vector<uint32_t>{0, 0, 0, 1, 1});
}
