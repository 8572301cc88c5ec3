// peftcpp: the command-line tool. `peftcpp <command> --help` documents each command.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "tools/cli/args.h"
#include "tools/cli/commands.h"

namespace {

using peftcpp::cli::Command;

const Command kCommands[] = {
    {"finetune", "train an adapter (any implemented PEFT method) on a causal LM",
     peftcpp::cli::run_finetune},
    {"generate", "continue prompts with a model and optional adapters", peftcpp::cli::run_generate},
    {"eval", "mean token loss and perplexity on a text file", peftcpp::cli::run_eval},
    {"forward", "logits of input_ids from a safetensors file", peftcpp::cli::run_forward},
    {"merge", "merge an adapter into its base and write a full checkpoint", peftcpp::cli::run_merge},
    {"info", "what a safetensors file, a model directory or an adapter directory holds",
     peftcpp::cli::run_info},
    {"methods", "the PEFT methods and which ones peftcpp implements", peftcpp::cli::run_methods},
    {"tokenizer", "train a byte-level BPE tokenizer.json (train), or encode text (encode)",
     peftcpp::cli::run_tokenizer},
};

void print_usage(std::ostream& out) {
  out << "usage: peftcpp <command> [options]   (peftcpp <command> --help for details)\n\n"
         "commands:\n";
  for (const Command& c : kCommands) {
    std::string name = c.name;
    name.resize(12, ' ');
    out << "  " << name << c.summary << '\n';
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(std::cerr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    print_usage(std::cout);
    return 0;
  }
  const std::vector<std::string> args(argv + 2, argv + argc);
  for (const Command& c : kCommands) {
    if (name != c.name) continue;
    try {
      return c.run(args);
    } catch (const peftcpp::cli::UsageError& e) {
      std::cerr << "peftcpp " << name << ": " << e.what() << " (see peftcpp " << name
                << " --help)\n";
      return 2;
    } catch (const std::exception& e) {
      std::string msg = e.what();
      for (char& ch : msg)
        if (ch == '\n') ch = ' ';
      std::cerr << "peftcpp " << name << ": " << msg << '\n';
      return 1;
    }
  }
  std::cerr << "peftcpp: unknown command '" << name << "'\n";
  print_usage(std::cerr);
  return 2;
}
