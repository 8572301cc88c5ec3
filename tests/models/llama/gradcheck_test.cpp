// Float64 finite-difference gradient check of a tiny LLaMA decoder layer (GQA, RoPE, padding
// mask, SwiGLU, RMSNorm) through the autograd engine, for the input and several weights, and of
// a whole tiny causal LM through a trainable prefix in the cache.
#include "autograd/gradcheck.h"

#include <doctest/doctest.h>

#include "models/llama/attention_mask.h"
#include "models/llama/decoder_layer.h"
#include "models/llama/rope.h"
#include "tests/models/llama/llama_test_util.h"

using namespace peftcpp;

TEST_CASE("gradcheck: a tiny llama decoder layer in float64") {
  auto cfg = llama_test::tiny_config("llama", R"({"hidden_size": 8, "intermediate_size": 12,
      "num_attention_heads": 2, "num_key_value_heads": 1, "attention_bias": true})");
  const auto s = models::llama::llama_settings(*cfg);
  auto layer = std::make_shared<models::llama::LlamaDecoderLayer>(s, 0, nn::FactoryOptions{});
  layer->to(kFloat64);
  Generator gen(2);
  for (Tensor& p : layer->parameters()) {
    Tensor d = p.detach();
    normal_(d, 0.0, 0.4, &gen);
  }
  models::llama::LlamaRotaryEmbedding rope(s);
  const auto [cos, sin] = rope.forward(arange(4).unsqueeze(0), kFloat64);
  // Key 1 padded; no query is fully masked (a fully masked row is constant in its scores).
  const Tensor mask = tensor<std::int64_t>({1, 0, 1, 1}, {1, 4});
  const Tensor bias = models::llama::causal_attention_bias(mask, 1, 4, 0, std::nullopt, kFloat64);
  Tensor x = randn({1, 4, 8}, kFloat64, &gen).requires_grad_(true);
  const TensorList inputs = {
      x,
      layer->get_parameter("self_attn.q_proj.weight"),
      layer->get_parameter("self_attn.k_proj.bias"),
      layer->get_parameter("self_attn.v_proj.weight"),
      layer->get_parameter("mlp.gate_proj.weight"),
      layer->get_parameter("input_layernorm.weight")};
  const GradcheckResult r = gradcheck(
      [&](const TensorList& in) { return layer->forward(in[0], cos, sin, bias, nullptr, false); },
      inputs);
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("gradcheck: prefix keys/values through a whole tiny causal LM in float64") {
  auto cfg = llama_test::tiny_config("mistral", R"({"hidden_size": 8, "intermediate_size": 12,
      "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 16, "sliding_window": 3})");
  auto m = llama_test::seeded_model(*cfg, "MistralForCausalLM");
  m->to(kFloat64);
  m->requires_grad_(false);
  Generator gen(9);
  Tensor k0 = randn({1, 1, 2, 4}, kFloat64, &gen).requires_grad_(true);
  Tensor v1 = randn({1, 1, 2, 4}, kFloat64, &gen).requires_grad_(true);
  const Tensor v0 = randn({1, 1, 2, 4}, kFloat64, &gen), k1 = randn({1, 1, 2, 4}, kFloat64, &gen);
  const GradcheckResult r = gradcheck(
      [&](const TensorList& in) {
        models::KVCache cache;
        cache.self = {{in[0], v0}, {k1, in[1]}};
        models::ModelInputs x;
        x.input_ids = llama_test::ids_tensor({3, 5, 7}, 1, 3);
        x.attention_mask = ones({1, 5}, kInt64);
        x.past_key_values = &cache;
        return m->forward(x).logits;
      },
      {k0, v1});
  CHECK_MESSAGE(r.ok, r.message);
}
