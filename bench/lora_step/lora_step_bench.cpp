// bench/lora_step: training throughput of a LLaMA-style causal LM on random tokens, LoRA on
// q,k,v,o,gate,up,down (or --full fine-tuning), AdamW; float32 on CPU by default, or
// --device cuda --dtype bf16 --preset-1b for the GPU benchmark (~1.1B parameters).
// bench/reference/lora_step.py is the same step in plain PyTorch (CPU anchor),
// bench/reference/lora_step_hf.py the same step with transformers + PEFT (CPU or GPU);
// scripts/bench_lora_step.sh runs peftcpp and the plain PyTorch step and prints the ratio.
// Prints, last, `tokens/s: <x>`.
#include <omp.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>

#include "cuda/cuda.h"
#include "io/json/hf_config.h"
#include "models/model.h"
#include "nn/optim/adam.h"
#include "peft/mapping.h"
#include "peft/tuners/lora/config.h"
#include "tensor/allocator.h"
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
      .option("device", "cpu or cuda", "cpu")
      .option("dtype", "f32, bf16 or f16 (model, activations and LoRA weights)", "f32")
      .flag("preset-1b", "the ~1.1B LLaMA of the CUDA benchmark: vocab 32000, hidden 2048, intermediate 5632, "
                         "22 layers, 32 heads, 4 key/value heads (overrides those flags)")
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

  const bool preset = p.get_flag("preset-1b");
  const Device device = Device::parse(p.get("device"));
  const std::string dtype_name = p.get("dtype");
  if (dtype_name != "f32" && dtype_name != "bf16" && dtype_name != "f16") {
    std::cerr << "lora_step: --dtype must be f32, bf16 or f16, got '" << dtype_name << "'\n";
    return 2;
  }
  const DType dtype = dtype_name == "bf16" ? kBFloat16 : dtype_name == "f16" ? kFloat16 : kFloat32;
  if (device.is_cuda() && !cuda::is_available()) {
    std::cerr << "lora_step: --device cuda: " << cuda::unavailable_reason() << "\n";
    return 2;
  }
  LlamaConfig cfg;
  cfg.vocab_size = preset ? 32000 : V;
  cfg.hidden_size = preset ? 2048 : p.get_int("hidden");
  cfg.intermediate_size = preset ? 5632 : p.get_int("intermediate");
  cfg.num_hidden_layers = preset ? 22 : p.get_int("layers");
  cfg.num_attention_heads = preset ? 32 : p.get_int("heads");
  cfg.num_key_value_heads = preset ? 4 : p.get_int("kv-heads");
  cfg.max_position_embeddings = std::max<std::int64_t>(T, 2048);
  cfg.post_init();
  manual_seed(0);
  models::ModelPtr model = models::from_config(cfg, "LlamaForCausalLM");
  model->to(dtype);
  model->to(device);
  std::shared_ptr<PeftModel> peft;
  if (!full) {
    LoraConfig lc;
    lc.r = static_cast<int>(p.get_int("rank"));
    lc.lora_alpha = static_cast<int>(p.get_double("alpha"));
    lc.target_modules = std::vector<std::string>{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
    lc.task_type = TaskType::CAUSAL_LM;
    peft = get_peft_model(model, lc);
    peft->to(dtype);
    peft->to(device);
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
  const Tensor ids = randint(0, cfg.vocab_size, {B, T}, &g).to(device);
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
  if (device.is_cuda()) allocator_for(device).reset_peak();  // as the reference's reset_peak_memory_stats
  const long long steps = p.get_int("steps");
  const auto t0 = std::chrono::steady_clock::now();
  for (long long i = 0; i < steps; ++i) step();
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("mode: %s  device: %s  dtype: %s  trainable: %lld  loss: %.4f  step: %.1f ms  peak RSS: %.0f MiB\n",
              full ? "full" : "lora", device.str().c_str(), dtype_name.c_str(), static_cast<long long>(trainable),
              last_loss, dt / static_cast<double>(steps) * 1000.0, static_cast<double>(ru.ru_maxrss) / 1024.0);
  if (device.is_cuda()) {
    const AllocatorStats st = allocator_for(device).stats();
    std::printf("peak device memory: %.0f MiB\n", static_cast<double>(st.peak_live_bytes) / (1024.0 * 1024.0));
  }
  std::printf("tokens/s: %.1f\n", static_cast<double>(B * T * steps) / dt);
  return 0;
}
