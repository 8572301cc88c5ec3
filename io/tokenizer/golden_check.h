// Golden check of the tokenizer pipeline against reference results of the HuggingFace
// tokenizers library (internal header, used by the golden tool and the tests).
//
// Layout of `tokenizers_dir`: index.json lists the cases ({"cases": [{"case": name}, ...]});
// each <case>/ holds tokenizer.json and cases.json (see golden/tokenizers/README.md).
#pragma once

#include <string>
#include <vector>

namespace peftcpp {

struct TokenizerCaseResult {
  std::string name;  // the case directory, e.g. "gpt2_bytelevel_bpe"
  bool passed = false;
  std::string message;  // first mismatch: "<entry name> <field> expected ... got ...", or error
  size_t entries = 0;   // entries checked
};

/// Runs every entry of every case listed in `<tokenizers_dir>/index.json`.
std::vector<TokenizerCaseResult> check_tokenizer_golden(const std::string& tokenizers_dir);

}  // namespace peftcpp
