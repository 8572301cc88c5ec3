// Generation benchmark: prefill and decode throughput of a ~58M-parameter LLaMA-style model with
// random weights (vocab 32000, hidden 512, intermediate 1376, 8 layers, 8 heads, batch 1), the
// same model bench/reference/generate.py runs in PyTorch (scripts/bench_generate.sh compares).
//   prefill: a 128-token prompt through the model into a fresh KV cache, logits of the last
//            position only (what generate() needs);
//   decode:  128 single-token greedy steps on that cache, argmax included.
// Usage: bench_generate [repeats, default 3] [prompt, default 128] [new tokens, default 128]
// Prints the best of the repeats:
//   generate prefill <x> tokens/s (<ms> ms per <T>-token prompt)
//   generate decode <y> tokens/s (<ms> ms/token over <n> tokens)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "autograd/grad_mode.h"
#include "models/generation.h"
#include "models/model.h"
#include "tensor/ops.h"

using namespace peftcpp;

namespace {

constexpr const char* kConfig = R"({
  "model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 32000,
  "hidden_size": 512, "intermediate_size": 1376, "num_hidden_layers": 8,
  "num_attention_heads": 8, "num_key_value_heads": 8, "max_position_embeddings": 2048,
  "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": false})";

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 3;
  const std::int64_t prompt = argc > 2 ? std::atoll(argv[2]) : 128;
  const std::int64_t new_tokens = argc > 3 ? std::atoll(argv[3]) : 128;
  manual_seed(0);
  models::ModelPtr model = models::from_config(*hf_config_from_json(Json::parse(kConfig)));
  model->eval();
  NoGradGuard no_grad;
  Generator gen(1);
  const Tensor ids = randint(0, 32000, {1, prompt}, &gen);
  double best_prefill = 1e30, best_decode = 1e30;
  std::int64_t checksum = 0;
  for (int r = 0; r < repeats + 1; ++r) {  // the first round warms caches and allocator
    models::KVCache cache;
    models::ModelInputs x;
    x.input_ids = ids;
    x.past_key_values = &cache;
    x.use_cache = true;
    x.num_logits_to_keep = 1;
    auto t0 = std::chrono::steady_clock::now();
    Tensor next = argmax(model->forward(x).logits.select(1, 0), -1).view({1, 1});
    const double prefill = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    for (std::int64_t i = 0; i < new_tokens; ++i) {
      x.input_ids = next;
      next = argmax(model->forward(x).logits.select(1, 0), -1).view({1, 1});
    }
    const double decode = seconds_since(t0);
    checksum += next.item<std::int64_t>();
    if (r > 0) {
      best_prefill = std::min(best_prefill, prefill);
      best_decode = std::min(best_decode, decode);
    }
  }
  std::printf(
      "generate prefill %.1f tokens/s (%.2f ms per %lld-token prompt)\n",
      static_cast<double>(prompt) / best_prefill,
      1e3 * best_prefill,
      static_cast<long long>(prompt));
  std::printf(
      "generate decode %.1f tokens/s (%.3f ms/token over %lld tokens)\n",
      static_cast<double>(new_tokens) / best_decode,
      1e3 * best_decode / static_cast<double>(new_tokens),
      static_cast<long long>(new_tokens));
  std::printf(
      "# params %lld, checksum %lld\n",
      static_cast<long long>(model->num_parameters()),
      static_cast<long long>(checksum));
  return 0;
}
