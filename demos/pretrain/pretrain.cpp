// demos/pretrain: trains the demo's base model from scratch — a byte-level BPE tokenizer and a
// small LLaMA-style causal LM — on a plain-text corpus, and writes a HuggingFace model directory
// (config.json, model.safetensors, generation_config.json, tokenizer.json) that transformers
// loads. demos/pretrain/run.sh builds the corpus from Debian packages and calls this once; the
// result is committed under assets/.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "io/atomic_file.h"
#include "io/json/hf_config.h"
#include "io/tokenizer/bpe_trainer.h"
#include "models/model.h"
#include "tensor/ops.h"
#include "tools/cli/args.h"
#include "train/dataset.h"
#include "train/trainer.h"

using namespace peftcpp;
namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& path, const std::string& text) {
  write_file_atomic(path.string(), std::span<const std::uint8_t>(
                                       reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

int run(const std::vector<std::string>& argv) {
  cli::ArgParser p("pretrain (demos/pretrain)",
                   "Trains a byte-level BPE tokenizer and a LLaMA-style causal LM from scratch on "
                   "a text corpus (documents separated by blank lines) and writes a HuggingFace "
                   "model directory.");
  p.option("corpus", "UTF-8 text file", std::nullopt, true)
      .option("output", "model directory to write", std::nullopt, true)
      .option("vocab-size", "tokenizer vocabulary", "4096")
      .option("hidden", "hidden size", "256")
      .option("layers", "decoder layers", "6")
      .option("heads", "attention heads", "8")
      .option("intermediate", "SwiGLU width", "688")
      .option("context", "training sequence length (= max_position_embeddings)", "256")
      .option("epochs", "passes over the corpus", "1")
      .option("max-steps", "stop after this many optimizer steps (<= 0: epochs decide)", "0")
      .option("batch", "sequences per step", "16")
      .option("lr", "peak learning rate (cosine schedule)", "3e-3")
      .option("warmup", "warmup steps", "100")
      .option("eval-fraction", "documents held out for perplexity", "0.02")
      .option("seed", "random seed", "0");
  if (!p.parse(argv)) return 0;
  const fs::path out = p.get("output");
  fs::create_directories(out);
  const std::uint64_t seed = static_cast<std::uint64_t>(p.get_int("seed"));

  // 1. The tokenizer.
  auto t0 = std::chrono::steady_clock::now();
  BpeTrainerOptions topt;
  topt.vocab_size = static_cast<std::size_t>(p.get_int("vocab-size"));
  topt.special_tokens = {"<|endoftext|>"};
  BpeTrainer bpe(topt);
  bpe.feed_file(p.get("corpus"));
  const Tokenizer tok = bpe.train();
  tok.save((out / "tokenizer.json").string());
  const std::int64_t eos = 0;  // the first special token
  std::printf("tokenizer: vocab %zu, trained in %.1f s\n", tok.vocab_size(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  // 2. Data.
  const auto split = train::split_documents(train::read_documents(p.get("corpus")),
                                            p.get_double("eval-fraction"), seed);
  const std::int64_t ctx = p.get_int("context");
  auto train_blocks = train::pack_blocks(train::tokenize_documents(tok, split.train, eos), ctx);
  auto eval_blocks = train::pack_blocks(train::tokenize_documents(tok, split.eval, eos), ctx);
  std::printf("data: %zu train blocks, %zu eval blocks of %lld tokens\n", train_blocks.size(),
              eval_blocks.size(), static_cast<long long>(ctx));

  // 3. The model.
  LlamaConfig cfg;
  cfg.architectures = std::vector<std::string>{"LlamaForCausalLM"};
  cfg.vocab_size = static_cast<std::int64_t>(tok.vocab_size());
  cfg.hidden_size = p.get_int("hidden");
  cfg.intermediate_size = p.get_int("intermediate");
  cfg.num_hidden_layers = p.get_int("layers");
  cfg.num_attention_heads = p.get_int("heads");
  cfg.num_key_value_heads = cfg.num_attention_heads;
  cfg.max_position_embeddings = ctx;
  cfg.tie_word_embeddings = true;
  cfg.bos_token_id = eos;
  cfg.eos_token_id = eos;
  cfg.rms_norm_eps = 1e-5;
  cfg.torch_dtype = "float32";
  cfg.post_init();
  manual_seed(seed);
  models::ModelPtr model = models::from_config(cfg, "LlamaForCausalLM");
  std::printf("model: %lld parameters\n", static_cast<long long>(model->num_parameters()));

  // 4. Training.
  train::TrainingArguments args;
  args.output_dir = out / "training";
  args.num_epochs = p.get_double("epochs");
  args.max_steps = p.get_int("max-steps");
  args.batch_size = p.get_int("batch");
  args.learning_rate = p.get_double("lr");
  args.lr_scheduler_type = "cosine";
  args.warmup_steps = p.get_int("warmup");
  args.weight_decay = 0.1;
  args.adam_beta2 = 0.95;
  args.max_grad_norm = 1.0;
  args.eval_steps = 200;
  args.seed = seed;
  train::TrainerCallbacks cb;
  cb.loss = [&](const train::Batch& b) {
    models::ModelInputs in;
    in.input_ids = b.input_ids;
    return train::causal_lm_loss(model->forward(in).logits, b.labels);
  };
  train::Trainer trainer(*model, args, std::move(train_blocks), std::move(eval_blocks), cb);
  const train::TrainResult r = trainer.train();
  if (r.final_eval)
    std::printf("held-out loss %.4f, perplexity %.2f; %.0f tokens/s over %.0f s\n",
                r.final_eval->loss, r.final_eval->perplexity, r.tokens_per_second, r.seconds);

  // 5. The HuggingFace directory.
  model->save_pretrained(out);
  write_text(out / "generation_config.json",
             "{\n  \"_from_model_config\": true,\n  \"bos_token_id\": " + std::to_string(eos) +
                 ",\n  \"eos_token_id\": " + std::to_string(eos) + "\n}\n");
  std::printf("wrote %s\n", out.string().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const cli::UsageError& e) {
    std::cerr << "pretrain: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "pretrain: " << e.what() << '\n';
    return 1;
  }
}
