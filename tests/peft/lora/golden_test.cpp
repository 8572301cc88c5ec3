// The golden checker's `peft` group over every LORA case of the golden dir: no case may FAIL;
// SKIPs (base models not implemented yet) are reported.
#include <doctest/doctest.h>

#include "peft/golden_check.h"
#include "tests/peft/golden_dir.h"

using namespace peftcpp;

TEST_CASE("every golden LORA case passes or is skipped for a missing base model") {
  int passed = 0, skipped = 0, total = 0;
  for (const std::filesystem::path& meta : test::golden_files("peft", "meta.json")) {
    const Json m = Json::parse_file(meta);
    if (m.at("method").as_string() != "LORA")
      continue;
    ++total;
    const std::string name = meta.parent_path().filename().string();
    CAPTURE(name);
    golden::Verdict v;
    try {
      v = peft::check_golden_case(meta.parent_path());
    } catch (const std::exception& e) {
      v = golden::Verdict::fail(e.what());
    }
    CHECK_MESSAGE(v.status != golden::Verdict::Status::Fail, v.message);
    if (v.status == golden::Verdict::Status::Pass)
      ++passed;
    if (v.status == golden::Verdict::Status::Skip) {
      ++skipped;
      CHECK_MESSAGE(v.message.find("model not implemented") != std::string::npos, v.message);
    }
  }
  MESSAGE(passed << " passed, " << skipped << " skipped of " << total << " LORA cases");
  if (total > 0)
    CHECK(passed > 0);
}
