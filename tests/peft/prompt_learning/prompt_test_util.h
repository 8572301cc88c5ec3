// Helpers of the prompt-learning tests (tests/peft/prompt_learning, prompt_tuning, prefix_tuning,
// p_tuning): tiny transformers models of every family, configs, the golden cases of a method and
// byte comparison of files.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "io/golden/golden_case.h"
#include "io/json/hf_config.h"
#include "models/model.h"
#include "peft/golden_check.h"
#include "peft/mapping.h"
#include "peft/tuners/p_tuning/config.h"
#include "peft/tuners/prefix_tuning/config.h"
#include "peft/tuners/prompt_learning/tuner.h"
#include "peft/tuners/prompt_tuning/config.h"
#include "tensor/ops.h"
#include "tests/models/model_test_util.h"
#include "tests/peft/golden_dir.h"

namespace peftcpp::test {

/// Config of a tiny model: "llama" (grouped-query attention: 4 heads, 2 kv heads, head_dim 4),
/// "gpt2", "bert", "t5" (3 encoder and 3 decoder layers); hidden size 16, vocabulary 40.
inline std::unique_ptr<HfConfig> tiny_config(const std::string& family) {
  Json j;
  if (family == "llama") {
    j = Json::parse(R"({"vocab_size": 40, "hidden_size": 16, "intermediate_size": 24,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "max_position_embeddings": 64, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2})");
  } else if (family == "gpt2") {
    j = Json::parse(R"({"vocab_size": 40, "n_embd": 16, "n_layer": 2, "n_head": 4,
        "n_positions": 64, "bos_token_id": 1, "eos_token_id": 2})");
  } else if (family == "bert") {
    j = Json::parse(R"({"vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 2,
        "num_attention_heads": 4, "intermediate_size": 24, "max_position_embeddings": 64,
        "type_vocab_size": 2, "pad_token_id": 0})");
  } else {
    j = Json::parse(R"({"vocab_size": 40, "d_model": 16, "d_kv": 4, "d_ff": 24,
        "num_layers": 3, "num_decoder_layers": 3, "num_heads": 4,
        "relative_attention_num_buckets": 8, "relative_attention_max_distance": 20,
        "decoder_start_token_id": 0, "eos_token_id": 1, "pad_token_id": 0,
        "feed_forward_proj": "relu", "dropout_rate": 0.0, "is_encoder_decoder": true})");
  }
  j["model_type"] = family;
  return hf_config_from_json(j);
}

/// A tiny model of `architecture` (e.g. "LlamaForCausalLM") in eval mode, weights under `seed`;
/// matrices are scaled to std ~0.2 so that attention is far from uniform and tests can fail.
inline models::ModelPtr tiny_model(
    const std::string& family, const std::string& architecture, std::uint64_t seed = 3) {
  manual_seed(seed);
  models::ModelPtr m = models::from_config(*tiny_config(family), architecture);
  {
    NoGradGuard ng;
    for (Tensor& p : m->parameters()) {
      if (p.dim() == 2 && p.size(0) < 40 && p.size(1) < 40)  // not the (tied) embeddings
        p.detach().mul_(10.0);
    }
  }
  m->eval();
  return m;
}

/// A prompt-learning config with `num_virtual_tokens` and `task`.
template <class C>
std::unique_ptr<C> prompt_config(int num_virtual_tokens, TaskType task) {
  auto c = std::make_unique<C>();
  c->num_virtual_tokens = num_virtual_tokens;
  c->task_type = task;
  return c;
}

/// int64 [b, t] token ids in [3, 40) (no pad / bos / eos ids), drawn under `seed`.
inline Tensor token_ids(std::int64_t b, std::int64_t t, std::uint64_t seed = 11) {
  manual_seed(seed);
  return randint(3, 40, {b, t});
}

/// The prompt-learning tuner of `model`.
inline prompt_learning::PromptLearningTuner& tuner_of(PeftModel& model) {
  auto* t = dynamic_cast<prompt_learning::PromptLearningTuner*>(&model.base_model());
  REQUIRE(t != nullptr);
  return *t;
}

/// Golden peft/<case> folders whose meta.json "method" is `method` (sorted; empty without data).
inline std::vector<std::filesystem::path> golden_cases(const std::string& method) {
  std::vector<std::filesystem::path> out;
  for (const std::filesystem::path& meta : golden_files("peft", "meta.json")) {
    const Json m = golden::read_meta(meta.parent_path());
    if (m.find("method") != nullptr && m.at("method").as_string() == method)
      out.push_back(meta.parent_path());
  }
  return out;
}

inline bool same_bytes(const std::filesystem::path& a, const std::filesystem::path& b) {
  return read_text(a) == read_text(b);
}

inline double max_diff(const Tensor& a, const Tensor& b) {
  return max_abs_diff(a.detach().to(kFloat64), b.detach().to(kFloat64));
}

/// For every golden case of `method`: the golden checker passes it, and the adapter loaded with
/// from_pretrained saves back byte for byte (adapter_model.safetensors and adapter_config.json).
/// Returns the number of cases (0 without golden data).
inline int check_golden_cases(const std::string& method) {
  int n = 0;
  for (const std::filesystem::path& dir : golden_cases(method)) {
    CAPTURE(dir.string());
    const golden::Verdict v = peft::check_golden_case(dir);
    INFO(v.message);
    CHECK(v.status == golden::Verdict::Status::Pass);
    auto model = PeftModel::from_pretrained(models::from_pretrained(dir), dir);
    model_test::ScratchDir out("prompt_golden");
    model->save_pretrained(out.path());
    for (const char* f : {"adapter_model.safetensors", "adapter_config.json"}) {
      CAPTURE(f);
      CHECK(same_bytes(dir / f, out.path() / f));
    }
    ++n;
  }
  return n;
}

}  // namespace peftcpp::test
