// Golden check: every entry of every case under <golden>/tokenizers must match the reference.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "io/tokenizer/golden_check.h"

namespace {

std::string golden_tokenizers_dir() {
  if (const char* env = std::getenv("PEFTCPP_GOLDEN_DIR"))
    return std::string(env) + "/tokenizers";
  return std::string(PEFTCPP_SOURCE_ROOT) + "/../shared/golden/tokenizers";
}

}  // namespace

TEST_CASE("tokenizer golden cases match the HuggingFace tokenizers library") {
  const std::string dir = golden_tokenizers_dir();
  if (!std::filesystem::exists(dir + "/index.json")) {
    MESSAGE("golden tokenizers data not found at " << dir << "; skipped");
    return;
  }
  const auto results = peftcpp::check_tokenizer_golden(dir);
  CHECK(!results.empty());
  for (const auto& r : results) {
    INFO("tokenizers/" << r.name << ": " << r.message);
    CHECK(r.passed);
    MESSAGE(
        (r.passed ? "PASS" : "FAIL")
        << " tokenizers/" << r.name << " (" << r.entries << " entries) " << r.message);
  }
}

TEST_CASE("the golden checker reports the first mismatching field of a case") {
  const std::string dir = golden_tokenizers_dir();
  const std::string src = dir + "/gpt2_bytelevel_bpe";
  if (!std::filesystem::exists(src + "/tokenizer.json")) {
    MESSAGE("golden tokenizers data not found; skipped");
    return;
  }
  namespace fs = std::filesystem;
  const fs::path tmp =
      fs::temp_directory_path() / ("peftcpp_tok_golden_" + std::to_string(::rand()));
  fs::create_directories(tmp / "one");
  fs::copy_file(src + "/tokenizer.json", tmp / "one" / "tokenizer.json");
  {
    std::ofstream(tmp / "index.json") << R"({"cases":[{"case":"one"}]})";
    // "Hello" is token 15496 in GPT-2; the reference below claims 15497.
    std::ofstream(tmp / "one" / "cases.json")
        << R"([{"name":"hello","kind":"encode","text":"Hello","add_special_tokens":true,)"
           R"("ids":[15497],"tokens":["Hello"],"offsets":[[0,5]],"type_ids":[0],)"
           R"("special_tokens_mask":[0],"decoded":"Hello","decoded_skip_special":"Hello"}])";
  }
  const auto results = peftcpp::check_tokenizer_golden(tmp.string());
  fs::remove_all(tmp);
  REQUIRE(results.size() == 1);
  CHECK(!results[0].passed);
  CHECK(
      results[0].message ==
      "hello ids expected 15497 got 15496 (first difference at index 0, "
      "lengths 1 vs 1)");
}
