// `peftcpp forward` (logits of given token ids, for cross-checking implementations), `peftcpp
// eval` (mean token loss and perplexity on a text file) and `peftcpp merge` (merge_and_unload to
// a full HuggingFace checkpoint).
#include <cstdio>
#include <iostream>

#include "autograd/grad_mode.h"
#include "io/safetensors/tensor_io.h"
#include "peft/tuners/prompt_learning/tuner.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/model_loading.h"
#include "train/trainer.h"

namespace peftcpp::cli {
namespace fs = std::filesystem;

int run_forward(const std::vector<std::string>& args) {
  ArgParser p("forward",
              "Reads input_ids (int64 [B, T]) and optional attention_mask from a safetensors "
              "file, runs the model (+ adapter), and writes logits (float32 [B, T, V]).");
  p.option("model", "base model directory", std::nullopt, true)
      .option("adapter", "adapter directory")
      .option("input", "safetensors file with input_ids [, attention_mask]", std::nullopt, true)
      .option("output", "safetensors file to write (logits)", std::nullopt, true);
  if (!p.parse(args)) return 0;
  const TensorMap in = load_safetensors(p.get("input"));
  auto it = in.find("input_ids");
  if (it == in.end()) throw ValueError("'" + p.get("input") + "' has no tensor 'input_ids'");
  if (it->second.dim() != 2 || it->second.dtype() != kInt64)
    throw ValueError("'" + p.get("input") + "': input_ids must be int64 [B, T], got " +
                     std::string(dtype_name(it->second.dtype())) + " " + shape_str(it->second.shape()));
  LoadedModel m = load_model(p.get("model"), p.has("adapter") ? std::optional<fs::path>(p.get("adapter")) : std::nullopt);
  const std::int64_t vocab = m.base->config().dims().vocab_size;
  {
    NoGradGuard no_grad;
    const Tensor ids = it->second;
    const Tensor too_big = ge(ids, static_cast<double>(vocab));
    if (any(logical_or(too_big, lt(ids, 0.0))).item<bool>())
      throw ValueError("'" + p.get("input") + "': input_ids out of the vocabulary [0, " + std::to_string(vocab) + ")");
  }
  models::ModelInputs x;
  x.input_ids = it->second;
  if (auto mk = in.find("attention_mask"); mk != in.end()) x.attention_mask = mk->second;
  Tensor logits;
  {
    NoGradGuard no_grad;
    logits = m.forward(x).logits;
  }
  if (!logits.defined()) throw ValueError("the model produces no logits (not a causal/seq2seq LM head)");
  save_safetensors(p.get("output"), TensorMap{{"logits", logits.to(kFloat32)}});
  std::printf("wrote %s: logits %s\n", p.get("output").c_str(), shape_str(logits.shape()).c_str());
  return 0;
}

int run_eval(const std::vector<std::string>& args) {
  ArgParser p("eval", "Mean token loss and perplexity of a causal LM (+ adapter) on a text file.");
  p.option("model", "base model directory", std::nullopt, true)
      .option("adapter", "adapter directory")
      .option("data", "plain text or JSONL file", std::nullopt, true)
      .option("tokenizer", "tokenizer.json (default: the model directory's)")
      .option("seq-len", "sequence length", "256")
      .option("batch-size", "sequences per forward", "8");
  if (!p.parse(args)) return 0;
  const fs::path model_dir = p.get("model");
  LoadedModel m = load_model(model_dir, p.has("adapter") ? std::optional<fs::path>(p.get("adapter")) : std::nullopt);
  const Tokenizer tok = load_tokenizer(model_dir, p.get("tokenizer"));
  auto blocks = train::pack_blocks(
      train::tokenize_documents(tok, train::read_documents(p.get("data")), eos_id(*m.base, tok)),
      p.get_int("seq-len"), true);
  train::TrainingArguments ta;
  ta.batch_size = p.get_int("batch-size");
  ta.progress = false;
  train::TrainerCallbacks cb;
  cb.loss = [&](const train::Batch& b) {
    models::ModelInputs x;
    x.input_ids = b.input_ids;
    const Tensor logits = m.forward(x).logits;
    // prompt tuning / P-tuning logits also cover the virtual tokens in front of the labels
    const std::int64_t extra = logits.size(1) - b.labels.size(1);
    return train::causal_lm_loss(
        logits, extra > 0 ? prompt_learning::prompt_learning_labels(b.labels, extra) : b.labels);
  };
  // The trainer's evaluation loop over the file's blocks (no training happens).
  train::Trainer trainer(m.module(), ta, {train::Block{{0, 0}, {0, 0}}}, std::move(blocks), cb);
  const train::EvalResult r = trainer.evaluate();
  std::printf("loss %.4f  perplexity %.2f  (%lld tokens)\n", r.loss, r.perplexity,
              static_cast<long long>(r.tokens));
  return 0;
}

int run_merge(const std::vector<std::string>& args) {
  ArgParser p("merge",
              "Merges an adapter into its base model (merge_and_unload) and writes a full "
              "HuggingFace checkpoint (config.json + model.safetensors) that transformers loads.");
  p.option("model", "base model directory", std::nullopt, true)
      .option("adapter", "adapter directory", std::nullopt, true)
      .option("output", "directory to write", std::nullopt, true)
      .flag("safe", "check the merged weights for NaN/inf before writing");
  if (!p.parse(args)) return 0;
  const fs::path model_dir = p.get("model"), out = p.get("output");
  LoadedModel m = load_model(model_dir, fs::path(p.get("adapter")));
  m.peft->merge_and_unload(p.get_flag("safe"));
  m.base->save_pretrained(out);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "generation_config.json", "special_tokens_map.json"}) {
    if (fs::exists(model_dir / f)) fs::copy_file(model_dir / f, out / f, fs::copy_options::overwrite_existing);
  }
  std::printf("wrote %s (merged %s)\n", out.string().c_str(), p.get("adapter").c_str());
  return 0;
}

}  // namespace peftcpp::cli
