// peftcpp-golden DIR... [--device cpu|cuda] [--only GROUP/CASE-GLOB]
//
// Walks reference data in the layout of shared/golden/README.md and prints one line per case:
// PASS, FAIL (first mismatch) or SKIP (group or method not implemented yet), then
// "N passed, N failed, N skipped". Exits non-zero on any FAIL. Works on any directory in that layout.
//
// For every indexed case (peft/models/quant/merge_utils) every safetensors file must parse and
// every tensor meta.json names must be present with its shape and dtype (a FAIL otherwise); then
// the group's own check runs (models/golden_check.h, peft/golden_check.h), which SKIPs only what
// is not implemented. tokenizers and optim have their own walkers.
#include <fnmatch.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cuda/cuda.h"
#include "io/json/json.h"
#include "io/safetensors/safetensors.h"
#include "io/tokenizer/golden_check.h"
#include "models/golden_check.h"
#include "peft/golden_check.h"
#include "nn/optim/golden_check.h"
#include "tensor/dtype.h"

namespace fs = std::filesystem;
using namespace peftcpp;

namespace {

struct Counts {
  int passed = 0, failed = 0, skipped = 0;
};

bool selected(const std::string& name, const std::string& glob) {
  return glob.empty() || fnmatch(glob.c_str(), name.c_str(), 0) == 0;
}

void report(Counts& c, const std::string& name, const std::string& status, const std::string& msg = "") {
  std::cout << status << ' ' << name << (msg.empty() ? "" : ": " + msg) << '\n';
  if (status == "PASS") ++c.passed;
  if (status == "FAIL") ++c.failed;
  if (status == "SKIP") ++c.skipped;
}

// Checks that `file` holds every tensor of `spec` ({name: {shape, dtype}}) with that shape/dtype.
std::string check_tensors(const fs::path& file, const Json& spec) {
  SafetensorsFile st = SafetensorsFile::open(file.string());
  for (std::size_t i = 0; i < spec.as_object().size(); ++i) {
    const std::string& key = spec.as_object().key_at(i);
    const Json& want = spec.as_object().value_at(i);
    if (!st.contains(key)) return file.filename().string() + ": tensor '" + key + "' listed in meta.json is missing";
    const SafetensorsEntry& e = st.entry(key);
    std::vector<std::int64_t> shape;
    for (const Json& d : want.at("shape").as_array()) shape.push_back(d.as_int());
    if (shape != e.shape) return file.filename().string() + ": tensor '" + key + "' has another shape than meta.json";
    if (const Json* dt = want.find("dtype")) {
      if (dtype_from_name(dt->as_string()) != e.dtype) {
        return file.filename().string() + ": tensor '" + key + "' is " + dtype_name(e.dtype) + ", meta.json says " +
               dt->as_string();
      }
    }
  }
  return "";
}

void check_indexed_cases(const fs::path& dir, const std::string& only, Counts& counts) {
  const fs::path index = dir / "index.json";
  if (!fs::exists(index)) return;
  const Json idx = Json::parse_file(index);
  for (const Json& c : idx.at("cases").as_array()) {
    const std::string group = c.at("group").as_string();
    const std::string name = group + "/" + c.at("case").as_string();
    if (!selected(name, only)) continue;
    const fs::path case_dir = dir / c.at("path").as_string();
    try {
      // every safetensors file must parse
      for (const auto& entry : fs::recursive_directory_iterator(case_dir)) {
        if (entry.path().extension() == ".safetensors") SafetensorsFile::open(entry.path().string());
      }
      const Json meta = Json::parse_file(case_dir / "meta.json");
      std::string problem;
      if (const Json* in = meta.find("inputs"); in && in->is_object() && fs::exists(case_dir / "inputs.safetensors")) {
        problem = check_tensors(case_dir / "inputs.safetensors", *in);
      }
      if (const Json* ex = meta.find("expected");
          problem.empty() && ex && ex->is_object() && fs::exists(case_dir / "expected.safetensors")) {
        problem = check_tensors(case_dir / "expected.safetensors", *ex);
      }
      if (!problem.empty()) {
        report(counts, name, "FAIL", problem);
        continue;
      }
      golden::Verdict v;
      if (group == "models") {
        v = models::check_golden_case(case_dir);
      } else if (group == "peft") {
        v = peft::check_golden_case(case_dir);
      } else if (group == "merge_utils") {
        v = golden::Verdict::skip("merge_utils (add_weighted_adapter) not implemented");
      } else {
        const Json* method = c.find("method");
        const std::string what = method && method->is_string() && !method->as_string().empty()
                                     ? method->as_string()
                                     : group;
        v = golden::Verdict::skip(what + " not implemented");
      }
      using S = golden::Verdict::Status;
      report(counts, name, v.status == S::Pass ? "PASS" : v.status == S::Fail ? "FAIL" : "SKIP",
             v.message);
    } catch (const std::exception& e) {
      report(counts, name, "FAIL", e.what());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> dirs;
  std::string device = "cpu", only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--device" && i + 1 < argc) {
      device = argv[++i];
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else if (a == "-h" || a == "--help") {
      std::cout << "usage: peftcpp-golden DIR... [--device cpu|cuda] [--only GROUP/CASE-GLOB]\n";
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "peftcpp-golden: unknown option '" << a << "' (see --help)\n";
      return 2;
    } else {
      dirs.push_back(a);
    }
  }
  if (dirs.empty()) {
    std::cerr << "peftcpp-golden: give at least one golden directory (see --help)\n";
    return 2;
  }
  if (device != "cpu" && device != "cuda") {
    std::cerr << "peftcpp-golden: --device must be cpu or cuda, got '" << device << "'\n";
    return 2;
  }
  if (device == "cuda" && !cuda::is_available()) {
    std::cerr << "peftcpp-golden: --device cuda: " << cuda::unavailable_reason() << "\n";
    return 2;
  }
  golden::set_device(device == "cuda" ? kCUDA : kCPU);
  Counts counts;
  for (const std::string& d : dirs) {
    const fs::path dir(d);
    if (!fs::is_directory(dir)) {
      std::cerr << "peftcpp-golden: '" << d << "' is not a directory\n";
      return 2;
    }
    try {
      check_indexed_cases(dir, only, counts);
      if (fs::exists(dir / "tokenizers" / "index.json")) {
        for (const TokenizerCaseResult& r : check_tokenizer_golden((dir / "tokenizers").string())) {
          const std::string name = "tokenizers/" + r.name;
          if (!selected(name, only)) continue;
          report(counts, name, r.passed ? "PASS" : "FAIL", r.passed ? "" : r.message);
        }
      }
      if (fs::is_directory(dir / "optim")) {
        for (const auto& r : nn::optim::check_optim_golden((dir / "optim").string())) {
          const std::string name = "optim/" + r.name;
          if (!selected(name, only)) continue;
          report(counts, name, r.passed ? "PASS" : "FAIL", r.passed ? "" : r.message);
        }
      }
    } catch (const std::exception& e) {
      std::cerr << "peftcpp-golden: " << d << ": " << e.what() << "\n";
      ++counts.failed;
    }
  }
  std::cout << counts.passed << " passed, " << counts.failed << " failed, " << counts.skipped << " skipped\n";
  return counts.failed ? 1 : 0;
}
