// Task heads, module names, biases, tied embeddings, replaceable children and the attention
// mask semantics of the LLaMA family.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "io/safetensors/tensor_io.h"
#include "models/llama/attention.h"
#include "models/llama/attention_mask.h"
#include "models/registry.h"
#include "nn/functional.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "tests/models/llama/llama_test_util.h"

using namespace peftcpp;
using llama_test::check_close;
using llama_test::seeded_model;
using llama_test::tiny_config;

namespace {

Tensor hidden_of(models::PreTrainedModel& m, const Tensor& ids) {
  models::ModelInputs x;
  x.input_ids = ids;
  return m.forward(x).last_hidden_state;
}

std::set<std::string> param_names(const models::PreTrainedModel& m) {
  std::set<std::string> out;
  for (const auto& [n, p] : m.named_parameters()) out.insert(n);
  return out;
}

}  // namespace

TEST_CASE("the three model types are registered and build every architecture") {
  for (const char* type : {"llama", "mistral", "qwen2"}) {
    REQUIRE(models::find_model_family(type) != nullptr);
    auto cfg = tiny_config(type);
    for (const char* suffix :
         {"Model",
          "ForCausalLM",
          "ForSequenceClassification",
          "ForTokenClassification",
          "ForQuestionAnswering"}) {
      const std::string arch = llama_test::arch(type, suffix);
      models::ModelPtr m = models::from_config(*cfg, arch);
      CHECK(m->type_name() == arch);
    }
    CHECK_THROWS_AS(models::from_config(*cfg, "BertForMaskedLM"), ValueError);
  }
}

TEST_CASE("parameter names and biases follow transformers per family") {
  const auto llama = param_names(*models::from_config(*tiny_config("llama"), "LlamaForCausalLM"));
  CHECK(llama.count("model.embed_tokens.weight"));
  CHECK(llama.count("model.layers.1.self_attn.q_proj.weight"));
  CHECK(llama.count("model.layers.1.mlp.down_proj.weight"));
  CHECK(llama.count("model.layers.0.input_layernorm.weight"));
  CHECK(llama.count("model.layers.0.post_attention_layernorm.weight"));
  CHECK(llama.count("model.norm.weight"));
  CHECK(llama.count("lm_head.weight"));
  CHECK(!llama.count("model.layers.0.self_attn.q_proj.bias"));
  CHECK(llama.size() == 3 + 2 * 9);

  const auto biased = param_names(*models::from_config(
      *tiny_config("llama", R"({"attention_bias": true, "mlp_bias": true})"), "LlamaModel"));
  for (const char* n : {"q_proj", "k_proj", "v_proj", "o_proj"})
    CHECK(biased.count(std::string("layers.0.self_attn.") + n + ".bias"));
  for (const char* n : {"gate_proj", "up_proj", "down_proj"})
    CHECK(biased.count(std::string("layers.0.mlp.") + n + ".bias"));

  const auto qwen = param_names(*models::from_config(*tiny_config("qwen2"), "Qwen2Model"));
  for (const char* n : {"q_proj", "k_proj", "v_proj"})
    CHECK(qwen.count(std::string("layers.0.self_attn.") + n + ".bias"));
  CHECK(!qwen.count("layers.0.self_attn.o_proj.bias"));

  CHECK(param_names(*models::from_config(*tiny_config("llama"), "LlamaForQuestionAnswering"))
            .count("transformer.layers.0.self_attn.q_proj.weight"));
  CHECK(param_names(*models::from_config(*tiny_config("qwen2"), "Qwen2ForQuestionAnswering"))
            .count("transformer.norm.weight"));
  CHECK(param_names(*models::from_config(*tiny_config("mistral"), "MistralForQuestionAnswering"))
            .count("model.norm.weight"));
}

TEST_CASE("fresh weights follow _init_weights: N(0, initializer_range), zero padding row") {
  auto m = models::from_config(
      *tiny_config("llama", R"({"initializer_range": 0.05,
      "vocab_size": 512, "hidden_size": 64, "num_attention_heads": 4})"),
      "LlamaForCausalLM");
  const Tensor emb = m->get_parameter("model.embed_tokens.weight");
  CHECK(max_abs_diff(emb.select(0, 0), zeros({64})) == 0.0);  // pad_token_id 0
  const double s = peftcpp::std(m->get_parameter("lm_head.weight")).item<double>();
  CHECK(s == doctest::Approx(0.05).epsilon(0.05));
  CHECK(max_abs_diff(m->get_parameter("model.norm.weight"), ones({64})) == 0.0);
}

TEST_CASE("tied embeddings: lm_head shares embed_tokens and is stored once") {
  auto cfg = tiny_config("llama", R"({"tie_word_embeddings": true})");
  auto m = seeded_model(*cfg, "LlamaForCausalLM");
  CHECK(m->get_parameter("lm_head.weight").is_same(m->get_parameter("model.embed_tokens.weight")));
  REQUIRE(m->tied_weights().size() == 1);
  CHECK(m->tied_weights()[0].first == "lm_head.weight");
  const auto dir =
      std::filesystem::temp_directory_path() / ("peftcpp_llama_tied_" + std::to_string(::getpid()));
  m->save_pretrained(dir);
  const TensorMap saved = load_safetensors((dir / "model.safetensors").string());
  CHECK(!saved.count("lm_head.weight"));
  auto again = models::from_pretrained(dir);
  const Tensor ids = llama_test::ids_tensor({5, 6, 7, 8}, 1, 4);
  models::ModelInputs x;
  x.input_ids = ids;
  NoGradGuard ng;
  check_close(again->forward(x).logits, m->forward(x).logits, 0.0, "reloaded tied model");
  std::filesystem::remove_all(dir);
}

TEST_CASE("sequence classification pools the token before the first pad (last without pad)") {
  auto cfg = tiny_config("llama", R"({"num_labels": 3})");
  auto m = seeded_model(*cfg, "LlamaForSequenceClassification");
  auto score = m->get_submodule_as<nn::Linear>("score");
  REQUIRE(score != nullptr);
  CHECK(!score->bias.defined());
  // Row 0 right padded (pad at 3), row 1 unpadded, row 2 left padded (pad at 0 -> last).
  const Tensor ids =
      llama_test::ids_tensor({5, 6, 7, 0, 0, 8, 9, 10, 11, 12, 0, 0, 13, 14, 15}, 3, 5);
  models::ModelInputs x;
  x.input_ids = ids;
  NoGradGuard ng;
  const Tensor pooled = m->forward(x).logits;
  REQUIRE(pooled.shape() == Shape{3, 3});
  auto base = std::dynamic_pointer_cast<models::llama::LlamaHeadModel>(m)->base;
  const Tensor h = hidden_of(*base, ids);
  const std::int64_t at[3] = {2, 4, 4};
  for (std::int64_t r = 0; r < 3; ++r) {
    const Tensor want = matmul(h.select(0, r).select(0, at[r]), score->weight.t());
    check_close(pooled.select(0, r), want, 1e-6, "row " + std::to_string(r));
  }
  auto no_pad = seeded_model(
      *tiny_config("llama", R"({"pad_token_id": null})"), "LlamaForSequenceClassification");
  CHECK_THROWS_AS(no_pad->forward(x), ValueError);
}

TEST_CASE("token classification and question answering are linear maps of the hidden states") {
  auto cfg = tiny_config("qwen2", R"({"num_labels": 4})");
  const Tensor ids = llama_test::ids_tensor({5, 6, 7, 8, 9, 10}, 2, 3);
  models::ModelInputs x;
  x.input_ids = ids;
  NoGradGuard ng;
  {
    auto m = seeded_model(*cfg, "Qwen2ForTokenClassification");
    auto score = m->get_submodule_as<nn::Linear>("score");
    const Tensor h = hidden_of(*m->get_submodule_as<models::PreTrainedModel>("model"), ids);
    check_close(
        m->forward(x).logits,
        nn::functional::linear(h, score->weight, score->bias),
        1e-6,
        "token classification");
  }
  {
    auto m = seeded_model(*cfg, "Qwen2ForQuestionAnswering");
    auto qa = m->get_submodule_as<nn::Linear>("qa_outputs");
    const Tensor h = hidden_of(*m->get_submodule_as<models::PreTrainedModel>("transformer"), ids);
    const Tensor both = nn::functional::linear(h, qa->weight, qa->bias);
    const models::ModelOutput out = m->forward(x);
    check_close(out.start_logits, both.select(-1, 0), 1e-6, "start");
    check_close(out.end_logits, both.select(-1, 1), 1e-6, "end");
    CHECK(m->layers_path() == "transformer.layers");
    CHECK(m->output_module_names() == std::vector<std::string>{"qa_outputs"});
  }
}

TEST_CASE("projections are replaceable children: a swapped q_proj is the one used") {
  auto m = seeded_model(*tiny_config(), "LlamaForCausalLM");
  const Tensor ids = llama_test::ids_tensor({5, 6, 7, 8}, 1, 4);
  models::ModelInputs x;
  x.input_ids = ids;
  NoGradGuard ng;
  const Tensor before = m->forward(x).logits;
  auto zero = std::make_shared<nn::Linear>(32, 32, false);
  zero->weight.detach().zero_();
  m->replace_child("model.layers.0.self_attn.q_proj", zero);
  m->replace_child("model.layers.1.self_attn.q_proj", zero);
  // Zero queries: every position attends uniformly to its causal prefix.
  const Tensor after = m->forward(x).logits;
  CHECK(max_abs_diff(before, after) > 1e-3);
  const auto names = m->named_modules();
  std::set<std::string> module_names;
  for (const auto& [n, mod] : names) module_names.insert(n);
  CHECK(module_names.count("model.layers.0.mlp.act_fn"));
  CHECK(module_names.count("model.rotary_emb"));
  CHECK(m->layers_path() == "model.layers");
}

TEST_CASE("attention bias: causal, padding, window, and fully masked rows as transformers") {
  const double lo = finfo_min(kFloat32);
  const Tensor mask = tensor<std::int64_t>({0, 1, 1, 1}, {1, 4});
  const Tensor bias = models::llama::causal_attention_bias(mask, 1, 2, 2, 2, kFloat32);
  // Queries at positions 2, 3 over keys 0..3: key 0 padded; window 2 keeps q - k < 2.
  const std::vector<float> want = {
      static_cast<float>(lo),
      0,
      0,
      static_cast<float>(lo),
      static_cast<float>(lo),
      static_cast<float>(lo),
      0,
      0};
  CHECK(bias.to_vector<float>() == want);
  CHECK(!models::llama::causal_attention_bias(Tensor(), 2, 1, 5, std::nullopt, kFloat32).defined());
  CHECK_THROWS_AS(
      models::llama::causal_attention_bias(mask, 1, 2, 0, std::nullopt, kFloat32), ShapeError);

  // A query whose keys are all masked averages every value uniformly (min-float, not -inf).
  auto s = models::llama::llama_settings(*tiny_config());
  models::llama::LlamaAttention attn(s, 0, {});
  Generator gen(4);
  for (Tensor& p : attn.parameters()) {
    Tensor d = p.detach();
    normal_(d, 0.0, 0.3, &gen);
  }
  const Tensor x = randn({1, 3, 32}, kFloat32, &gen);
  const Tensor cos = ones({1, 3, 8}), sin = zeros({1, 3, 8});  // position 0: no rotation
  const Tensor all_masked = full({1, 1, 3, 3}, lo);
  NoGradGuard ng;
  const Tensor out = attn.forward(x, cos, sin, all_masked, nullptr, false);
  auto vp = std::dynamic_pointer_cast<nn::Linear>(attn.v_proj);
  auto op = std::dynamic_pointer_cast<nn::Linear>(attn.o_proj);
  const Tensor v = nn::functional::linear(x, vp->weight).view({1, 3, 2, 8});
  const Tensor v_mean = mean(v, {1});  // [1, 2, 8] per kv head
  const Tensor per_head = v_mean.unsqueeze(2).expand({1, 2, 2, 8}).reshape({1, 32});
  const Tensor want_row = nn::functional::linear(per_head, op->weight);
  for (std::int64_t i = 0; i < 3; ++i)
    check_close(out.select(1, i), want_row, 1e-5, "uniform row " + std::to_string(i));
}
