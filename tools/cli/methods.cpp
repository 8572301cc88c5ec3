// `peftcpp methods`: the PEFT methods and whether peftcpp implements them, straight from the
// tuner registry (the README's table is this command's output, checked by a test).
#include <iostream>

#include "peft/peft_type.h"
#include "peft/tuners/registry.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"

namespace peftcpp::cli {

std::string methods_table() {
  std::string out =
      "| PEFT method (`peft_type`) | kind | in peftcpp |\n|---|---|---|\n";
  for (PeftType t : all_peft_types()) {
    const bool implemented = find_tuner(t) != nullptr;
    out += "| `" + std::string(peft_type_name(t)) + "` | " +
           (is_prompt_learning(t) ? "prompt learning" : "adapter layers") + " | " +
           (implemented ? "yes: train, save, load" + std::string(is_prompt_learning(t) ? "" : ", merge")
                        : "config only (adapter_config.json read and written)") +
           " |\n";
  }
  return out;
}

int run_methods(const std::vector<std::string>& args) {
  ArgParser p("methods", "Lists HuggingFace PEFT's methods as a Markdown table, marking the ones "
                         "peftcpp implements (from its tuner registry).");
  if (!p.parse(args)) return 0;
  std::cout << methods_table();
  return 0;
}

}  // namespace peftcpp::cli
