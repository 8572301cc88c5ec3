// `peftcpp tokenizer train|encode`: train a byte-level BPE tokenizer (saved as a HuggingFace
// tokenizer.json), and encode text with any tokenizer.json.
#include <filesystem>
#include <iostream>

#include "io/tokenizer/bpe_trainer.h"
#include "io/tokenizer/tokenizer.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"

namespace peftcpp::cli {
namespace {

int train(const std::vector<std::string>& args) {
  ArgParser p("tokenizer train",
              "Trains a byte-level BPE tokenizer (GPT-2 style, as the HuggingFace tokenizers "
              "BpeTrainer with a ByteLevel pre-tokenizer) on text files and writes a standard "
              "tokenizer.json.");
  p.option("input", "comma-separated UTF-8 text files", std::nullopt, true)
      .option("output", "tokenizer.json to write", std::nullopt, true)
      .option("vocab-size", "special tokens + 256 byte symbols + merges", "4096")
      .option("min-frequency", "stop merging below this pair count", "0")
      .option("special-tokens", "comma-separated special tokens (added first)", "<|endoftext|>");
  if (!p.parse(args)) return 0;
  BpeTrainerOptions opt;
  const long long vocab = p.get_int("vocab-size");
  if (vocab <= 0) throw UsageError("--vocab-size must be positive");
  opt.vocab_size = static_cast<std::size_t>(vocab);
  const long long minf = p.get_int("min-frequency");
  if (minf < 0) throw UsageError("--min-frequency must be >= 0");
  opt.min_frequency = static_cast<std::uint64_t>(minf);
  opt.special_tokens = p.get_list("special-tokens");
  BpeTrainer trainer(opt);
  for (const std::string& f : p.get_list("input")) trainer.feed_file(f);
  Tokenizer tok = trainer.train();
  tok.save(p.get("output"));
  std::cout << "wrote " << p.get("output") << " (vocab " << tok.vocab_size() << ", "
            << trainer.distinct_words() << " distinct words seen)\n";
  return 0;
}

int encode(const std::vector<std::string>& args) {
  ArgParser p("tokenizer encode", "Encodes TEXT with a tokenizer.json and prints ids and tokens.");
  p.positional("TEXT", "text to encode")
      .option("tokenizer", "tokenizer.json (or a directory holding one)", std::nullopt, true)
      .flag("no-special-tokens", "do not add the post-processor's special tokens");
  if (!p.parse(args)) return 0;
  std::string path = p.get("tokenizer");
  if (std::filesystem::is_directory(path)) path = (std::filesystem::path(path) / "tokenizer.json").string();
  const Tokenizer tok = Tokenizer::from_file(path);
  const Encoding e = tok.encode(p.get("TEXT"), !p.get_flag("no-special-tokens"));
  for (std::size_t i = 0; i < e.ids.size(); ++i) std::cout << e.ids[i] << '\t' << e.tokens[i] << '\n';
  return 0;
}

}  // namespace

int run_tokenizer(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << "usage: peftcpp tokenizer train|encode [options]   (--help on each)\n";
    return args.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "train") return train(rest);
  if (args[0] == "encode") return encode(rest);
  throw UsageError("unknown tokenizer subcommand '" + args[0] + "' (train, encode)");
}

}  // namespace peftcpp::cli
