// Golden check: every entry of every case under <golden>/tokenizers must match the reference.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "io/tokenizer/golden_check.h"

namespace {

std::string golden_tokenizers_dir() {
  if (const char* env = std::getenv("PEFTCPP_GOLDEN_DIR")) return std::string(env) + "/tokenizers";
  return std::string(PEFTCPP_SOURCE_ROOT) + "/../shared/golden/tokenizers";
}

}  // namespace

TEST_CASE("tokenizer golden cases match the HuggingFace tokenizers library") {
  const std::string dir = golden_tokenizers_dir();
  if (!std::filesystem::exists(dir + "/index.json")) {
    MESSAGE("golden tokenizers data not found at " << dir << "; skipped");
    return;
  }
  const auto results = peftcpp::check_tokenizer_golden(dir);
  CHECK(!results.empty());
  for (const auto& r : results) {
    INFO("tokenizers/" << r.name << ": " << r.message);
    CHECK(r.passed);
    MESSAGE((r.passed ? "PASS" : "FAIL") << " tokenizers/" << r.name << " (" << r.entries
                                         << " entries) " << r.message);
  }
}
