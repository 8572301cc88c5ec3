// Helpers of the models/llama tests: tiny configs built in code, seeded random models, the golden
// directory and tensor comparisons.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "autograd/grad_mode.h"
#include "io/json/hf_config.h"
#include "models/llama/heads.h"
#include "models/model.h"
#include "peft/golden_dir.h"
#include "tensor/ops.h"

namespace peftcpp::llama_test {

/// A 2-layer model_type `type` config (vocab 64, hidden 32, 4 heads, 2 kv heads) with `overrides`
/// (a JSON object text) applied on top.
inline std::unique_ptr<HfConfig> tiny_config(
    const std::string& type = "llama", const std::string& overrides = "{}") {
  Json j = Json::parse(
      R"({"vocab_size": 64, "hidden_size": 32, "intermediate_size": 48,
          "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
          "max_position_embeddings": 64, "pad_token_id": 0, "bos_token_id": 1,
          "eos_token_id": 2})");
  j["model_type"] = type;
  const Json extra = Json::parse(overrides);
  for (const auto& [k, v] : extra.as_object()) j[k] = v;
  return hf_config_from_json(j);
}

/// "LlamaForCausalLM" from ("llama", "ForCausalLM") (also mistral, qwen2).
inline std::string arch(const std::string& type, const std::string& suffix) {
  const std::string prefix = type == "llama" ? "Llama" : type == "mistral" ? "Mistral" : "Qwen2";
  return prefix + suffix;
}

/// A model of `architecture` for `config` with weights drawn under `seed` (std 0.2 so that the
/// attention is far from uniform and tests can fail).
inline models::ModelPtr seeded_model(
    const HfConfig& config, const std::string& architecture, std::uint64_t seed = 7) {
  manual_seed(seed);
  models::ModelPtr m = models::from_config(config, architecture);
  {
    NoGradGuard ng;
    Generator gen(seed);
    for (Tensor& p : m->parameters()) {
      Tensor d = p.detach();
      normal_(d, 0.0, 0.2, &gen);
    }
  }
  m->eval();
  return m;
}

inline Tensor ids_tensor(const std::vector<std::int64_t>& v, std::int64_t b, std::int64_t t) {
  return tensor<std::int64_t>(v, {b, t});
}

/// max |a - b| <= tol, with a message naming both shapes.
inline void check_close(const Tensor& a, const Tensor& b, double tol, const std::string& what) {
  INFO(what);
  REQUIRE(a.defined());
  REQUIRE(b.defined());
  REQUIRE(shape_str(a.shape()) == shape_str(b.shape()));
  CHECK(max_abs_diff(a.to(kFloat64), b.to(kFloat64)) <= tol);
}

}  // namespace peftcpp::llama_test
