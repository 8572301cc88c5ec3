// The subcommands of `peftcpp`: one file each (tools/cli/<name>.cpp), listed in main.cpp.
#pragma once

#include <string>
#include <vector>

namespace peftcpp::cli {

struct Command {
  const char* name;
  const char* summary;
  /// Runs with the arguments after the command name; returns the exit status. Throws
  /// UsageError for bad usage and peftcpp::Error / std::exception for failures.
  int (*run)(const std::vector<std::string>& args);
};

int run_info(const std::vector<std::string>& args);
int run_tokenizer(const std::vector<std::string>& args);
int run_finetune(const std::vector<std::string>& args);
int run_generate(const std::vector<std::string>& args);
int run_forward(const std::vector<std::string>& args);
int run_eval(const std::vector<std::string>& args);
int run_merge(const std::vector<std::string>& args);
int run_methods(const std::vector<std::string>& args);
/// The Markdown table `peftcpp methods` prints.
std::string methods_table();

}  // namespace peftcpp::cli
