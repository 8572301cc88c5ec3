// train/dataset: reading, splitting, tokenizing and packing fine-tuning data.
#include "train/dataset.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "io/tokenizer/bpe_trainer.h"
#include "tensor/error.h"

using namespace peftcpp;
using namespace peftcpp::train;
namespace fs = std::filesystem;

namespace {

struct TmpFile {
  explicit TmpFile(const std::string& name, const std::string& content)
      : path(fs::temp_directory_path() / ("peftcpp_ds_" + std::to_string(::getpid()) + "_" + name)) {
    std::ofstream(path, std::ios::binary) << content;
  }
  ~TmpFile() {
    std::error_code ec;
    fs::remove(path, ec);
  }
  fs::path path;
};

}  // namespace

TEST_CASE("plain text: documents are separated by blank lines, line ends kept") {
  TmpFile f("a.txt", "first line\nsecond line\n\n\n  \nthird doc\r\n\nlast");
  auto docs = read_documents(f.path.string());
  REQUIRE(docs.size() == 3);
  CHECK(docs[0].text == "first line\nsecond line\n");
  CHECK(docs[1].text == "third doc\n");
  CHECK(docs[2].text == "last\n");
  CHECK(docs[0].prompt.empty());
}

TEST_CASE("JSONL: text, or prompt + completion; bad lines are named") {
  TmpFile f("b.jsonl", "{\"text\": \"hello\"}\n\n{\"prompt\": \"Q: \", \"completion\": \"A\"}\n");
  auto docs = read_documents(f.path.string());
  REQUIRE(docs.size() == 2);
  CHECK(docs[0].text == "hello");
  CHECK(docs[1].prompt == "Q: ");
  CHECK(docs[1].text == "A");
  TmpFile bad("c.jsonl", "{\"text\": \"ok\"}\n{\"txt\": 1}\n");
  CHECK_THROWS_WITH_AS(read_documents(bad.path.string()), doctest::Contains("line 2"), ValueError);
  TmpFile notjson("d.jsonl", "{oops\n");
  CHECK_THROWS_WITH_AS(read_documents(notjson.path.string()), doctest::Contains("not valid JSON"),
                       ValueError);
  CHECK_THROWS_AS(read_documents("/nonexistent/file.txt"), IoError);
  TmpFile empty("e.txt", "\n\n");
  CHECK_THROWS_WITH_AS(read_documents(empty.path.string()), doctest::Contains("no documents"),
                       ValueError);
}

TEST_CASE("split_documents holds out whole documents, deterministically per seed") {
  std::vector<Document> docs;
  for (int i = 0; i < 50; ++i) docs.push_back({"doc" + std::to_string(i), ""});
  Split a = split_documents(docs, 0.1, 7), b = split_documents(docs, 0.1, 7);
  CHECK(a.eval.size() == 5);
  CHECK(a.train.size() == 45);
  std::set<std::string> seen;
  for (const auto& d : a.train) seen.insert(d.text);
  for (const auto& d : a.eval) CHECK(seen.insert(d.text).second);  // disjoint
  CHECK(seen.size() == 50);
  for (std::size_t i = 0; i < a.eval.size(); ++i) CHECK(a.eval[i].text == b.eval[i].text);
  Split c = split_documents(docs, 0.1, 8);
  bool differs = false;
  for (std::size_t i = 0; i < c.eval.size(); ++i) differs |= c.eval[i].text != a.eval[i].text;
  CHECK(differs);
  CHECK(split_documents(docs, 0.0, 1).eval.empty());
  CHECK(split_documents({docs[0], docs[1]}, 0.01, 1).eval.size() == 1);
  CHECK_THROWS_AS(split_documents(docs, 1.0, 1), ValueError);
}

TEST_CASE("tokenize_documents masks prompts, appends eos; pack_blocks cuts fixed blocks") {
  BpeTrainerOptions opt;
  opt.vocab_size = 300;
  BpeTrainer trainer(opt);
  trainer.feed("the quick brown fox jumps over the lazy dog\n");
  Tokenizer tok = trainer.train();
  std::vector<Document> docs = {{"the fox", ""}, {" dog", "the "}};
  TokenStream s = tokenize_documents(tok, docs, /*eos_id=*/5);
  const auto fox = tok.encode("the fox", false).ids;
  const auto prompt = tok.encode("the ", false).ids;
  const auto dog = tok.encode(" dog", false).ids;
  REQUIRE(s.ids.size() == fox.size() + 1 + prompt.size() + dog.size() + 1);
  CHECK(s.ids[fox.size()] == 5);
  for (std::size_t i = 0; i < prompt.size(); ++i) CHECK(s.labels[fox.size() + 1 + i] == kIgnoreIndex);
  CHECK(s.labels.back() == 5);
  CHECK(s.labels[0] == s.ids[0]);

  TokenStream seq;
  for (int i = 0; i < 10; ++i) seq.ids.push_back(i), seq.labels.push_back(i);
  auto blocks = pack_blocks(seq, 4);
  REQUIRE(blocks.size() == 2);
  CHECK(blocks[1].ids == std::vector<std::int64_t>{4, 5, 6, 7});
  CHECK(pack_blocks(seq, 4, true).back().ids == std::vector<std::int64_t>{8, 9});
  CHECK_THROWS_AS(pack_blocks(seq, 0), ValueError);
}
