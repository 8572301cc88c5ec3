// Helpers for the T5 tests: the golden directory, the T5 cases in it, tiny configs, a scratch
// folder.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/json/hf_config.h"
#include "models/model.h"
#include "tensor/ops.h"

namespace peftcpp::t5_test {

namespace fs = std::filesystem;

/// $PEFTCPP_GOLDEN_DIR, else <source root>/../shared/golden; empty when neither exists.
inline fs::path golden_dir() {
  if (const char* env = std::getenv("PEFTCPP_GOLDEN_DIR"); env != nullptr && *env)
    return fs::is_directory(env) ? fs::path(env) : fs::path();
#ifdef PEFTCPP_SOURCE_ROOT
  const fs::path p = fs::path(PEFTCPP_SOURCE_ROOT) / ".." / "shared" / "golden";
  if (fs::is_directory(p))
    return fs::canonical(p);
#endif
  return {};
}

/// Every folder of <golden>/models whose config.json has model_type "t5", sorted.
inline std::vector<fs::path> t5_golden_cases() {
  std::vector<fs::path> out;
  const fs::path root = golden_dir();
  if (root.empty() || !fs::is_directory(root / "models"))
    return out;
  for (const auto& entry : fs::directory_iterator(root / "models")) {
    const fs::path cfg = entry.path() / "config.json";
    if (!fs::exists(cfg))
      continue;
    if (std::string(load_hf_config(cfg)->model_type()) == "t5")
      out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// A small T5 config (2 encoder, 3 decoder layers so the two stacks differ).
inline T5Config tiny_config(const std::string& feed_forward_proj = "relu", bool tie = true) {
  T5Config c;
  c.vocab_size = 40;
  c.d_model = 16;
  c.d_kv = 4;
  c.d_ff = 24;
  c.num_layers = 2;
  c.num_decoder_layers = 3;
  c.num_heads = 4;
  c.relative_attention_num_buckets = 8;
  c.relative_attention_max_distance = 12;
  c.dropout_rate = 0.0;
  c.feed_forward_proj = feed_forward_proj;
  c.tie_word_embeddings = tie;
  c.post_init();
  return c;
}

/// A temporary folder removed at scope exit.
class TmpDir {
 public:
  TmpDir() {
    std::string tmpl = (fs::temp_directory_path() / "peftcpp-t5-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TmpDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TmpDir(const TmpDir&) = delete;
  TmpDir& operator=(const TmpDir&) = delete;
  const fs::path& path() const {
    return path_;
  }

 private:
  fs::path path_;
};

}  // namespace peftcpp::t5_test
