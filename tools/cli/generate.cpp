// `peftcpp generate`: text in, text out, with an optional adapter (or several, weighted).
#include <cstdio>
#include <iostream>

#include "models/generation.h"
#include "peft/mapping.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/model_loading.h"

namespace peftcpp::cli {
namespace fs = std::filesystem;

int run_generate(const std::vector<std::string>& args) {
  ArgParser p("generate",
              "Continues each --prompt with the model (and adapters), greedy unless --sample.");
  p.option("model", "base model directory", std::nullopt, true)
      .multi_option("adapter", "adapter directory; several are applied together (LoRA-family "
                               "adapters; with --adapter-weights)")
      .option("adapter-weights", "comma-separated scales of the adapters (default 1 each)")
      .multi_option("prompt", "prompt text (several give a batch)")
      .option("tokenizer", "tokenizer.json (default: the model directory's)")
      .option("max-new-tokens", "tokens to generate", "50")
      .flag("sample", "sample instead of greedy decoding")
      .option("temperature", "sampling temperature", "1.0")
      .option("top-k", "sampling top-k (0 = off)", "50")
      .option("top-p", "sampling nucleus (1 = off)", "1.0")
      .option("repetition-penalty", "1 = off", "1.0")
      .option("seed", "sampling seed", "0");
  if (!p.parse(args)) return 0;
  const std::vector<std::string> prompts = p.get_all("prompt");
  if (prompts.empty()) throw UsageError("give at least one --prompt");
  const fs::path model_dir = p.get("model");
  const std::vector<std::string> adapters = p.get_all("adapter");
  LoadedModel m = load_model(model_dir, adapters.empty() ? std::nullopt
                                                         : std::optional<fs::path>(adapters[0]));
  if (adapters.size() > 1 || p.has("adapter-weights")) {
    std::vector<std::string> names = {"default"};
    for (std::size_t i = 1; i < adapters.size(); ++i) {
      names.push_back("adapter_" + std::to_string(i));
      m.peft->load_adapter(adapters[i], names.back());
    }
    std::vector<double> weights(names.size(), 1.0);
    if (p.has("adapter-weights")) {
      const auto w = p.get_list("adapter-weights");
      if (w.size() != names.size())
        throw UsageError("--adapter-weights has " + std::to_string(w.size()) + " values for " +
                         std::to_string(names.size()) + " adapters");
      for (std::size_t i = 0; i < w.size(); ++i) weights[i] = std::stod(w[i]);
    }
    m.peft->set_adapters(names, /*inference_mode=*/true);
    for (std::size_t i = 0; i < names.size(); ++i) m.peft->set_scale(names[i], weights[i]);
  }
  const Tokenizer tok = load_tokenizer(model_dir, p.get("tokenizer"));

  models::GenerationConfig cfg = models::GenerationConfig::from_model_config(m.base->config());
  cfg.max_new_tokens = p.get_int("max-new-tokens");
  cfg.do_sample = p.get_flag("sample");
  cfg.temperature = p.get_double("temperature");
  cfg.top_k = p.get_int("top-k");
  cfg.top_p = p.get_double("top-p");
  cfg.repetition_penalty = p.get_double("repetition-penalty");
  cfg.seed = static_cast<std::uint64_t>(p.get_int("seed"));
  if (!cfg.pad_token_id && cfg.eos_token_id.empty()) cfg.pad_token_id = 0;

  // Left-padded batch.
  std::vector<std::vector<std::uint32_t>> ids;
  std::size_t longest = 0;
  for (const std::string& s : prompts) {
    ids.push_back(tok.encode(s, false).ids);
    if (ids.back().empty()) throw UsageError("a --prompt encodes to no tokens");
    longest = std::max(longest, ids.back().size());
  }
  const std::int64_t pad = cfg.pad_token_id.value_or(cfg.eos_token_id.empty() ? 0 : cfg.eos_token_id[0]);
  std::vector<std::int64_t> flat, mask;
  for (const auto& row : ids) {
    for (std::size_t i = row.size(); i < longest; ++i) flat.push_back(pad), mask.push_back(0);
    for (std::uint32_t t : row) flat.push_back(t), mask.push_back(1);
  }
  const std::int64_t B = static_cast<std::int64_t>(prompts.size()), T = static_cast<std::int64_t>(longest);
  const Tensor ids_t = tensor<std::int64_t>(flat, {B, T}), mask_t = tensor<std::int64_t>(mask, {B, T});
  // PeftModel::generate puts prompt-learning virtual tokens in place (adapter layers act anyway)
  const models::GenerateOutput out =
      m.peft ? m.peft->generate(ids_t, mask_t, cfg) : models::generate(*m.base, ids_t, mask_t, cfg);
  for (std::int64_t b = 0; b < B; ++b) {
    std::vector<std::uint32_t> gen;
    const Tensor row = out.sequences.select(0, b).contiguous();
    for (std::int64_t t = T; t < row.numel(); ++t) {
      const std::int64_t id = row.data_ptr<std::int64_t>()[t];
      if (std::find(cfg.eos_token_id.begin(), cfg.eos_token_id.end(), id) != cfg.eos_token_id.end()) break;
      gen.push_back(static_cast<std::uint32_t>(id));
    }
    std::cout << prompts[static_cast<std::size_t>(b)] << tok.decode(gen, true) << "\n";
    if (b + 1 < B) std::cout << "---\n";
  }
  return 0;
}

}  // namespace peftcpp::cli
