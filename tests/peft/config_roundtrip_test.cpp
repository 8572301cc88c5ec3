// Every adapter_config.json of the golden set loads, and saves back byte for byte.
#include <doctest/doctest.h>

#include <iostream>
#include <map>
#include <sstream>

#include "peft/config.h"
#include "tests/io/json/tmp_dir.h"
#include "tests/peft/golden_dir.h"

using namespace peftcpp;

namespace {

struct CerrCapture {
  CerrCapture() : old(std::cerr.rdbuf(buf.rdbuf())) {}
  ~CerrCapture() {
    std::cerr.rdbuf(old);
  }
  std::string text() const {
    return buf.str();
  }
  std::ostringstream buf;
  std::streambuf* old;
};

std::vector<std::filesystem::path> adapter_configs() {
  auto files = test::golden_files("peft", "adapter_config.json");
  auto merge = test::golden_files("merge_utils", "adapter_config.json");
  files.insert(files.end(), merge.begin(), merge.end());
  return files;
}

}  // namespace

TEST_CASE("every golden adapter_config.json saves back byte-identical") {
  const auto files = adapter_configs();
  if (files.empty()) {
    MESSAGE("golden data not found; skipped");
    return;
  }
  test::TmpDir tmp;
  std::map<std::string, int> typed_per_class;
  int identical = 0;
  for (const auto& file : files) {
    CAPTURE(file.string());
    const std::string original = test::read_text(file);
    CerrCapture cerr;
    std::unique_ptr<PeftConfig> cfg = load_peft_config(file);
    // Typed configs know every key PEFT writes, so nothing is reported as unknown.
    if (std::string(cfg->class_name()) != "GenericPeftConfig") {
      CHECK(cfg->unknown_fields().empty());
      CHECK(cerr.text() == "");
      ++typed_per_class[cfg->class_name()];
    }
    CHECK(cfg->to_json_string() == original);
    const auto out = tmp.path() / "adapter_config.json";
    cfg->save(out);
    const bool same = test::read_text(out) == original;
    CHECK(same);
    identical += same ? 1 : 0;
    // Reloading the saved file gives the same config.
    CHECK(load_peft_config(out)->to_json() == cfg->to_json());
  }
  std::ostringstream summary;
  summary << identical << "/" << files.size() << " adapter configs byte-identical; typed:";
  for (const auto& [name, n] : typed_per_class) {
    summary << " " << name << "=" << n;
  }
  MESSAGE(summary.str());
  CHECK(identical == static_cast<int>(files.size()));
  // The golden set covers every typed config.
  CHECK(typed_per_class.size() == 11);
}

TEST_CASE("default typed configs write exactly the keys PEFT writes for that method") {
  const auto files = adapter_configs();
  if (files.empty()) {
    MESSAGE("golden data not found; skipped");
    return;
  }
  std::map<PeftType, Json> reference;
  for (const auto& file : files) {
    const Json j = Json::parse_file(file);
    const auto type = peft_type_from_name(j.at("peft_type").as_string());
    REQUIRE(type.has_value());
    reference.emplace(*type, j);
  }
  for (const auto& [type, ref] : reference) {
    std::unique_ptr<PeftConfig> cfg = make_peft_config(type);
    if (std::string(cfg->class_name()) == "GenericPeftConfig") {
      continue;
    }
    CAPTURE(cfg->class_name());
    const Json mine = cfg->to_json();
    std::vector<std::string> mine_keys = mine.as_object().keys();
    std::vector<std::string> ref_keys = ref.as_object().keys();
    std::sort(mine_keys.begin(), mine_keys.end());
    std::sort(ref_keys.begin(), ref_keys.end());
    CHECK(mine_keys == ref_keys);
  }
}
