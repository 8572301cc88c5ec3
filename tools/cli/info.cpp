// `peftcpp info PATH`: what a safetensors file, a model directory (config.json + weights) or an
// adapter directory (adapter_config.json + adapter_model.safetensors) holds.
#include <filesystem>
#include <iostream>
#include <map>
#include <string>

#include "io/json/hf_config.h"
#include "io/safetensors/describe.h"
#include "io/safetensors/safetensors.h"
#include "peft/config.h"
#include "tensor/error.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"

namespace peftcpp::cli {
namespace {

namespace fs = std::filesystem;

// "123,456,789"
std::string grouped(std::uint64_t n) {
  std::string s = std::to_string(n), out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

// Parameter totals by stored dtype over every tensor of a (possibly sharded) checkpoint.
void print_weight_totals(const ShardedSafetensors& weights) {
  std::map<std::string, std::uint64_t> by_dtype;
  std::uint64_t elems = 0, bytes = 0;
  const auto entries = weights.entries();
  for (const SafetensorsEntry& e : entries) {
    by_dtype[e.st_dtype] += static_cast<std::uint64_t>(e.numel());
    elems += static_cast<std::uint64_t>(e.numel());
    bytes += e.nbytes();
  }
  std::cout << "weights: " << weights.shard_files().size() << " file(s), " << entries.size()
            << " tensors, " << grouped(elems) << " parameters, " << grouped(bytes) << " bytes\n";
  for (const auto& [dtype, n] : by_dtype) std::cout << "  " << dtype << ": " << grouped(n) << '\n';
}

int info_model_dir(const fs::path& dir) {
  const std::unique_ptr<HfConfig> config = load_hf_config(dir / "config.json");
  const HfDims d = config->dims();
  std::cout << dir.string() << ": " << config->class_name() << " (model_type "
            << config->model_type() << ")\n";
  if (config->architectures && !config->architectures->empty())
    std::cout << "architecture: " << config->architectures->front() << '\n';
  std::cout << "vocab " << d.vocab_size << ", hidden " << d.hidden_size << ", layers "
            << d.num_hidden_layers << ", heads " << d.num_attention_heads
            << ", tie_word_embeddings " << (config->tie_word_embeddings ? "true" : "false") << '\n';
  if (fs::exists(dir / "model.safetensors") || fs::exists(dir / "model.safetensors.index.json")) {
    print_weight_totals(ShardedSafetensors::open_dir(dir.string()));
  } else {
    std::cout << "weights: none (no model.safetensors or model.safetensors.index.json)\n";
  }
  if (fs::exists(dir / "tokenizer.json")) std::cout << "tokenizer: tokenizer.json\n";
  return 0;
}

int info_adapter_dir(const fs::path& dir) {
  const std::unique_ptr<PeftConfig> config = load_peft_config(dir);
  std::cout << dir.string() << ": " << peft_type_name(config->peft_type()) << " adapter ("
            << config->class_name() << ")\n";
  const Json j = config->to_json();
  for (std::size_t i = 0; i < j.as_object().size(); ++i) {
    const Json& v = j.as_object().value_at(i);
    if (v.is_null() || (v.is_object() && v.size() == 0)) continue;
    JsonDumpOptions one_line;
    one_line.indent = -1;
    one_line.ensure_ascii = false;
    std::cout << "  " << j.as_object().key_at(i) << ": " << v.dump(one_line) << '\n';
  }
  const fs::path weights = dir / "adapter_model.safetensors";
  if (!fs::exists(weights)) {
    std::cout << "weights: none (no adapter_model.safetensors)\n";
    return 0;
  }
  std::cout << describe_safetensors(SafetensorsFile::open(weights.string()));
  return 0;
}

}  // namespace

int run_info(const std::vector<std::string>& args) {
  ArgParser p("info", "Prints what a safetensors file, a model directory (config.json + "
                      "model.safetensors) or an adapter directory (adapter_config.json + "
                      "adapter_model.safetensors) holds: tensors, dtypes, shapes, config, "
                      "parameter counts. A corrupt file is a one-line error and exit status 1.");
  p.positional("PATH", "file or directory");
  if (!p.parse(args)) return 0;
  fs::path path = p.get("PATH");
  if (!fs::exists(path)) throw IoError("'" + path.string() + "' does not exist");
  // A config file stands for its directory.
  if (fs::is_regular_file(path) &&
      (path.filename() == "config.json" || path.filename() == "adapter_config.json"))
    path = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  if (fs::is_directory(path)) {
    if (fs::exists(path / "adapter_config.json")) return info_adapter_dir(path);
    if (fs::exists(path / "config.json")) return info_model_dir(path);
    if (fs::exists(path / "model.safetensors") ||
        fs::exists(path / "model.safetensors.index.json")) {
      print_weight_totals(ShardedSafetensors::open_dir(path.string()));
      return 0;
    }
    throw IoError("'" + path.string() +
                  "' holds neither config.json, adapter_config.json nor model.safetensors");
  }
  std::cout << describe_safetensors(SafetensorsFile::open(path.string()));
  return 0;
}

}  // namespace peftcpp::cli
