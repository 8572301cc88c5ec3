#include "tools/cli/args.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iostream>

namespace peftcpp::cli {

ArgParser::ArgParser(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

ArgParser& ArgParser::option(const std::string& name, const std::string& help,
                             std::optional<std::string> fallback, bool required) {
  opts_.push_back({name, help, std::move(fallback), required, false, false});
  return *this;
}

ArgParser& ArgParser::flag(const std::string& name, const std::string& help) {
  opts_.push_back({name, help, std::nullopt, false, true, false});
  return *this;
}

ArgParser& ArgParser::positional(const std::string& name, const std::string& help, bool required) {
  opts_.push_back({name, help, std::nullopt, required, false, true});
  return *this;
}

const ArgParser::Opt& ArgParser::find(const std::string& name) const {
  for (const Opt& o : opts_)
    if (o.name == name) return o;
  throw std::logic_error("peftcpp cli: option '" + name + "' was never declared");
}

bool ArgParser::parse(const std::vector<std::string>& args) {
  std::size_t next_positional = 0;
  std::vector<const Opt*> positionals;
  for (const Opt& o : opts_)
    if (o.is_positional) positionals.push_back(&o);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      std::cout << help();
      return false;
    }
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      std::string name = a.substr(2), value;
      bool inline_value = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        inline_value = true;
      }
      auto it = std::find_if(opts_.begin(), opts_.end(),
                             [&](const Opt& o) { return !o.is_positional && o.name == name; });
      if (it == opts_.end()) throw UsageError("unknown option '--" + name + "'");
      if (it->is_flag) {
        if (inline_value) throw UsageError("--" + name + " takes no value");
        values_[name] = "1";
        continue;
      }
      if (!inline_value) {
        if (i + 1 >= args.size()) throw UsageError("--" + name + " needs a value");
        value = args[++i];
      }
      values_[name] = value;
      continue;
    }
    if (next_positional >= positionals.size())
      throw UsageError("unexpected argument '" + a + "'");
    values_[positionals[next_positional++]->name] = a;
  }
  for (const Opt& o : opts_) {
    if (values_.count(o.name)) continue;
    if (o.fallback) {
      values_[o.name] = *o.fallback;
    } else if (o.required) {
      throw UsageError(o.is_positional ? "missing " + o.name : "missing --" + o.name);
    }
  }
  return true;
}

std::string ArgParser::help() const {
  std::string usage = "usage: peftcpp " + command_;
  for (const Opt& o : opts_) {
    if (o.is_positional) usage += o.required ? " " + o.name : " [" + o.name + "]";
  }
  usage += " [options]\n\n" + summary_ + "\n";
  std::string lines;
  for (const Opt& o : opts_) {
    std::string left = o.is_positional ? "  " + o.name : "  --" + o.name + (o.is_flag ? "" : " X");
    if (left.size() < 26) left.resize(26, ' ');
    else left += "  ";
    lines += left + o.help;
    if (o.fallback && !o.is_flag) lines += " (default: " + (o.fallback->empty() ? "\"\"" : *o.fallback) + ")";
    if (o.required && !o.is_positional) lines += " (required)";
    lines += '\n';
  }
  return usage + "\n" + lines + "  --help                  this text\n";
}

bool ArgParser::has(const std::string& name) const {
  find(name);
  return values_.count(name) != 0;
}

std::string ArgParser::get(const std::string& name) const {
  find(name);
  auto it = values_.find(name);
  return it == values_.end() ? "" : it->second;
}

bool ArgParser::get_flag(const std::string& name) const {
  return find(name).is_flag && values_.count(name) != 0;
}

long long ArgParser::get_int(const std::string& name) const {
  const std::string v = get(name);
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno == ERANGE)
    throw UsageError("--" + name + " must be an integer, got '" + v + "'");
  return x;
}

double ArgParser::get_double(const std::string& name) const {
  const std::string v = get(name);
  char* end = nullptr;
  errno = 0;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno == ERANGE)
    throw UsageError("--" + name + " must be a number, got '" + v + "'");
  return x;
}

std::vector<std::string> ArgParser::get_list(const std::string& name) const {
  std::vector<std::string> out;
  std::string cur;
  for (char c : get(name) + ",") {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

}  // namespace peftcpp::cli
