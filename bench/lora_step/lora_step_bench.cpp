// bench/lora_step: training throughput of a LLaMA-style causal LM on random tokens, LoRA on
// q,k,v,o,gate,up,down (or --full fine-tuning), AdamW, float32. bench/reference/lora_step.py is
// the same step in PyTorch; scripts/bench_lora_step.sh runs both and prints the ratio.
// Prints, last, `tokens/s: <x>`.
#include <omp.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>

#include "io/json/hf_config.h"
#include "models/model.h"
#include "nn/optim/adam.h"
#include "peft/mapping.h"
#include "peft/tuners/lora/config.h"
#include "tensor/backend/backend.h"
#include "tensor/ops.h"
#include "tools/cli/args.h"
#include "train/trainer.h"

using namespace peftcpp;

int main(int argc, char** argv) {
  cli::ArgParser p("lora_step (bench)", "Times LoRA (or --full) training steps of a LLaMA-style LM.");
  p.option("vocab", "vocabulary", "32000")
      .option("hidden", "hidden size", "512")
      .option("intermediate", "SwiGLU width", "1376")
      .option("layers", "decoder layers", "4")
      .option("heads", "attention heads", "8")
      .option("kv-heads", "key/value heads", "8")
      .option("seq", "sequence length", "256")
      .option("batch", "batch size", "4")
      .option("rank", "LoRA rank", "16")
      .option("alpha", "LoRA alpha", "32")
      .option("steps", "timed steps", "10")
      .option("warmup", "untimed steps first", "2")
      .option("threads", "OpenMP threads (0 = default)", "0")
      .flag("full", "full fine-tuning instead of LoRA")
      .flag("no-fused", "compose RMSNorm, RoPE, SwiGLU, cross-entropy and AdamW from basic ops (to measure the fused kernels)");
  try {
    if (!p.parse(std::vector<std::string>(argv + 1, argv + argc))) return 0;
  } catch (const cli::UsageError& e) {
    std::cerr << "lora_step: " << e.what() << "\n";
    return 2;
  }
  if (const long long t = p.get_int("threads"); t > 0) omp_set_num_threads(static_cast<int>(t));
  const bool full = p.get_flag("full");
  std::optional<FusedKernelsDisabled> composed;
  if (p.get_flag("no-fused")) composed.emplace();
  const std::int64_t B = p.get_int("batch"), T = p.get_int("seq"), V = p.get_int("vocab");

  LlamaConfig cfg;
  cfg.vocab_size = V;
  cfg.hidden_size = p.get_int("hidden");
  cfg.intermediate_size = p.get_int("intermediate");
  cfg.num_hidden_layers = p.get_int("layers");
  cfg.num_attention_heads = p.get_int("heads");
  cfg.num_key_value_heads = p.get_int("kv-heads");
  cfg.max_position_embeddings = std::max<std::int64_t>(T, 2048);
  cfg.post_init();
  manual_seed(0);
  models::ModelPtr model = models::from_config(cfg, "LlamaForCausalLM");
  std::shared_ptr<PeftModel> peft;
  if (!full) {
    LoraConfig lc;
    lc.r = static_cast<int>(p.get_int("rank"));
    lc.lora_alpha = static_cast<int>(p.get_double("alpha"));
    lc.target_modules = std::vector<std::string>{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
    lc.task_type = TaskType::CAUSAL_LM;
    peft = get_peft_model(model, lc);
  }
  TensorList params;
  for (const Tensor& t : model->parameters())
    if (t.requires_grad()) params.push_back(t);
  std::int64_t trainable = 0;
  for (const Tensor& t : params) trainable += t.numel();
  nn::optim::AdamWOptions ao;
  ao.lr = 1e-4;
  nn::optim::AdamW opt(params, ao);
  Generator g(1);
  const Tensor ids = randint(0, V, {B, T}, &g);
  model->train();

  double last_loss = 0;
  auto step = [&] {
    models::ModelInputs in;
    in.input_ids = ids;
    Tensor logits = peft ? peft->forward(in).logits : model->forward(in).logits;
    Tensor loss = train::causal_lm_loss(logits, ids);
    loss.backward();
    opt.step();
    opt.zero_grad();
    last_loss = loss.item<double>();
  };
  for (long long i = 0; i < p.get_int("warmup"); ++i) step();
  const long long steps = p.get_int("steps");
  const auto t0 = std::chrono::steady_clock::now();
  for (long long i = 0; i < steps; ++i) step();
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("mode: %s  trainable: %lld  loss: %.4f  step: %.1f ms  peak RSS: %.0f MiB\n",
              full ? "full" : "lora", static_cast<long long>(trainable), last_loss,
              dt / static_cast<double>(steps) * 1000.0, static_cast<double>(ru.ru_maxrss) / 1024.0);
  std::printf("tokens/s: %.1f\n", static_cast<double>(B * T * steps) / dt);
  return 0;
}
