// Optimizer golden cases (PyTorch 1.13 / transformers trajectories) replayed by check_optim_golden.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "nn/optim/golden_check.h"

using namespace peftcpp::nn::optim;

namespace {

std::string golden_dir() {
  if (const char* env = std::getenv("PEFTCPP_GOLDEN_DIR"))
    return env;
  return std::string(PEFTCPP_SOURCE_ROOT) + "/../shared/golden";
}

}  // namespace

TEST_CASE("every optimizer golden case matches PyTorch within its tolerances") {
  const std::filesystem::path dir = std::filesystem::path(golden_dir()) / "optim";
  if (!std::filesystem::exists(dir)) {
    MESSAGE("golden dir " << dir.string() << " absent; skipped");
    return;
  }
  const auto results = check_optim_golden(dir.string());
  CHECK(!results.empty());
  for (const auto& r : results) {
    INFO("case " << r.name << ": " << r.message);
    CHECK(r.passed);
    CHECK(r.keys_checked > 0);
  }
}

TEST_CASE("the golden checker reports a missing case directory as a failed case") {
  const auto r = check_optim_case("/nonexistent/peftcpp/optim/case");
  CHECK_FALSE(r.passed);
  CHECK(r.message.find("meta.json") != std::string::npos);
}

TEST_CASE("the golden checker fails every case whose optimizer is changed (maximize flipped)") {
  namespace fs = std::filesystem;
  const fs::path src = fs::path(golden_dir()) / "optim";
  if (!fs::exists(src))
    return;
  const fs::path tmp =
      fs::temp_directory_path() / ("peftcpp_golden_neg_" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  int flipped = 0;
  for (const auto& entry : fs::directory_iterator(src)) {
    if (!fs::exists(entry.path() / "meta.json"))
      continue;
    const fs::path dst = tmp / entry.path().filename();
    fs::create_directories(dst);
    for (const auto& f : fs::directory_iterator(entry.path())) {
      fs::copy_file(f.path(), dst / f.path().filename());
      fs::permissions(dst / f.path().filename(), fs::perms::owner_write, fs::perm_options::add);
    }
    std::ifstream in(dst / "meta.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    in.close();
    const std::string from = "\"maximize\": false", to = "\"maximize\": true";
    for (std::size_t pos; (pos = text.find(from)) != std::string::npos;)
      text.replace(pos, from.size(), to);
    std::ofstream(dst / "meta.json") << text;
    ++flipped;
    if (flipped == 4)
      break;  // a few cases are enough
  }
  const auto results = check_optim_golden(tmp.string());
  CHECK(results.size() == static_cast<std::size_t>(flipped));
  for (const auto& r : results) {
    INFO("case " << r.name);
    CHECK_FALSE(r.passed);
  }
  fs::remove_all(tmp);
}
