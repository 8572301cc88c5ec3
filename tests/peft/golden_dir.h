// Location of the golden reference data: $PEFTCPP_GOLDEN_DIR, else <source root>/../shared/golden
// (PEFTCPP_SOURCE_ROOT is defined by meson). Empty when neither exists (tests then skip).
#pragma once

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace peftcpp::test {

inline std::filesystem::path golden_dir() {
  if (const char* env = std::getenv("PEFTCPP_GOLDEN_DIR"); env != nullptr && *env != '\0') {
    return std::filesystem::is_directory(env) ? std::filesystem::path(env)
                                              : std::filesystem::path();
  }
#ifdef PEFTCPP_SOURCE_ROOT
  const std::filesystem::path p =
      std::filesystem::path(PEFTCPP_SOURCE_ROOT) / ".." / "shared" / "golden";
  if (std::filesystem::is_directory(p)) {
    return p.lexically_normal();
  }
#endif
  return {};
}

/// Every file named `name` exactly two or three levels under golden_dir()/`group`
/// (group/<case>/name and group/<case>/<sub>/name), sorted.
inline std::vector<std::filesystem::path> golden_files(
    const std::string& group, const std::string& name) {
  std::vector<std::filesystem::path> out;
  const std::filesystem::path root = golden_dir() / group;
  if (golden_dir().empty() || !std::filesystem::is_directory(root)) {
    return out;
  }
  for (const auto& c : std::filesystem::directory_iterator(root)) {
    if (!c.is_directory()) {
      continue;
    }
    if (std::filesystem::is_regular_file(c.path() / name)) {
      out.push_back(c.path() / name);
    }
    for (const auto& sub : std::filesystem::directory_iterator(c.path())) {
      if (sub.is_directory() && std::filesystem::is_regular_file(sub.path() / name)) {
        out.push_back(sub.path() / name);
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace peftcpp::test
