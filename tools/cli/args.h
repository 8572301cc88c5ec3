// A small command-line parser for the `peftcpp` subcommands: declared options with help text,
// `--name value` / `--name=value` / boolean `--flag`, positionals, and errors that say what to fix.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace peftcpp::cli {

/// A usage error: printed as "peftcpp <command>: <message>" with a pointer to --help, exit 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ArgParser {
 public:
  ArgParser(std::string command, std::string summary);

  /// An option taking a value; `fallback` empty = no default (required when `required`).
  ArgParser& option(const std::string& name, const std::string& help,
                    std::optional<std::string> fallback = std::nullopt, bool required = false);
  /// A boolean flag (`--name`).
  ArgParser& flag(const std::string& name, const std::string& help);
  /// A positional argument (in order); `required` ones must be given.
  ArgParser& positional(const std::string& name, const std::string& help, bool required = true);

  /// Parses argv (without the program and command names). Returns false when --help was asked
  /// (the help text is then printed to stdout). Throws UsageError.
  bool parse(const std::vector<std::string>& args);
  std::string help() const;

  bool has(const std::string& name) const;
  std::string get(const std::string& name) const;
  bool get_flag(const std::string& name) const;
  long long get_int(const std::string& name) const;
  double get_double(const std::string& name) const;
  /// Comma-separated list.
  std::vector<std::string> get_list(const std::string& name) const;

 private:
  struct Opt {
    std::string name, help;
    std::optional<std::string> fallback;
    bool required = false, is_flag = false, is_positional = false;
  };
  const Opt& find(const std::string& name) const;

  std::string command_, summary_;
  std::vector<Opt> opts_;
  std::map<std::string, std::string> values_;
};

}  // namespace peftcpp::cli
