// Byte-level BPE trainer: merges on a tiny corpus worked out by hand, and a save/load round trip.
#include "io/tokenizer/bpe_trainer.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

using namespace peftcpp;
using V = std::vector<std::string>;

TEST_CASE("BPE trainer merges the most frequent pair first") {
  BpeTrainerOptions opt;
  opt.vocab_size = 1 + 256 + 3;
  opt.special_tokens = {"<|endoftext|>"};
  BpeTrainer trainer(opt);
  // Words: "ab" x1, "Ġab" x2, "abc" x1. Pair counts: (a,b) 4, (Ġ,a) 2, (b,c) 1.
  // After a+b: (Ġ,ab) 2, (ab,c) 1; after Ġ+ab: (ab,c) 1.
  trainer.feed("ab ab ab");
  trainer.feed("abc");
  CHECK(trainer.distinct_words() == 3);
  const Tokenizer tok = trainer.train();
  CHECK(tok.vocab_size() == 260);
  CHECK(tok.token_to_id("<|endoftext|>") == 0u);
  CHECK(tok.token_to_id("!") == 1u);  // alphabet in code point order
  CHECK(tok.token_to_id("c") == 99u - 32u);
  CHECK(tok.token_to_id("\xC4\xA0") == 189u + 32u);  // Ġ = U+0120
  CHECK(tok.token_to_id("ab") == 257u);
  CHECK(
      tok.token_to_id("\xC4\xA0"
                      "ab") == 258u);
  CHECK(tok.token_to_id("abc") == 259u);
  // (Ġ, ab) outranks (ab, c), so " abc" becomes Ġab + c.
  CHECK(
      tok.encode("ab abc").tokens == V{"ab",
                                       "\xC4\xA0"
                                       "ab",
                                       "c"});
}

TEST_CASE("BPE trainer stops at vocab_size and min_frequency") {
  BpeTrainerOptions opt;
  opt.vocab_size = 256 + 1;
  BpeTrainer small(opt);
  small.feed("ab ab ab abc");
  CHECK(small.train().vocab_size() == 257);
  opt.vocab_size = 1000;
  opt.min_frequency = 3;  // (a,b) occurs 4 times, everything after it less than 3
  BpeTrainer freq(opt);
  freq.feed("ab ab ab");
  freq.feed("abc");
  CHECK(freq.train().vocab_size() == 257);
}

TEST_CASE("a trained tokenizer saves atomically and loads back identically") {
  BpeTrainerOptions opt;
  opt.vocab_size = 400;
  opt.special_tokens = {"<|endoftext|>", "<pad>"};
  BpeTrainer trainer(opt);
  const std::string corpus =
      "In the beginning God created the heaven and the earth.\n"
      "And the earth was without form, and void; and darkness was upon the face of the deep.\n"
      "Caf\xC3\xA9 na\xC3\xAFve \xE6\x97\xA5\xE6\x9C\xAC 12345 \xF0\x9F\x91\x8D\n";
  for (int k = 0; k < 5; ++k) trainer.feed(corpus);
  const Tokenizer tok = trainer.train();
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("peftcpp_bpe_train_" + std::to_string(::rand()));
  fs::create_directories(dir);
  const std::string path = (dir / "tokenizer.json").string();
  tok.save(path, /*pretty=*/true);
  CHECK(fs::exists(path));
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  CHECK(files == 1);  // no temporary file left behind
  const Tokenizer back = Tokenizer::from_file(path);
  fs::remove_all(dir);
  CHECK(back.vocab_size() == tok.vocab_size());
  const std::string text =
      "And God said <|endoftext|>Caf\xC3\xA9 \xF0\x9F\x91\x8D unseen-words 987";
  const Encoding a = tok.encode(text), b = back.encode(text);
  CHECK(a.ids == b.ids);
  CHECK(a.offsets == b.offsets);
  // The special token is matched as an added token.
  CHECK(std::count(a.tokens.begin(), a.tokens.end(), "<|endoftext|>") == 1);
  CHECK(std::count(a.ids.begin(), a.ids.end(), 0u) == 1);
  CHECK(back.decode(b.ids) == text);  // byte-level BPE is lossless
  CHECK(back.decode(b.ids, true) == "And God said Caf\xC3\xA9 \xF0\x9F\x91\x8D unseen-words 987");
  CHECK(a.ids.size() < text.size() / 2);  // the merges do compress the text
}
