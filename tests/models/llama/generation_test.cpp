// generate(): greedy search against an argmax loop over full forwards, left padding, eos and
// padding of finished rows, seeded sampling, the logits processors against hand-computed values,
// and the encoder-decoder path on a scripted model.
#include "models/generation.h"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "models/logits_process.h"
#include "tests/models/llama/llama_test_util.h"

using namespace peftcpp;
using llama_test::seeded_model;
using llama_test::tiny_config;

namespace {

const float kInf = std::numeric_limits<float>::infinity();

// transformers' greedy loop without a cache: full forward on the whole sequence each step, with
// position_ids = cumsum(mask) - 1 (1 at padding) and the mask extended by ones.
Tensor argmax_loop(models::PreTrainedModel& m, Tensor ids, Tensor mask, int steps) {
  NoGradGuard ng;
  for (int i = 0; i < steps; ++i) {
    models::ModelInputs x;
    x.input_ids = ids;
    x.attention_mask = mask;
    const Tensor c = cumsum(mask, 1);
    x.position_ids = where(eq(mask, 0.0), ones_like(c), sub(c, 1.0));
    const Tensor logits = m.forward(x).logits;
    const Tensor next = argmax(logits.select(1, logits.size(1) - 1), -1).view({-1, 1});
    ids = cat({ids, next}, 1);
    mask = cat({mask, ones({mask.size(0), 1}, kInt64)}, 1);
  }
  return ids;
}

}  // namespace

TEST_CASE("greedy generation equals the argmax loop over full forwards, left padding included") {
  for (const char* type : {"llama", "qwen2"}) {
    INFO(std::string(type));
    auto m = seeded_model(*tiny_config(type), llama_test::arch(type, "ForCausalLM"));
    const Tensor ids = llama_test::ids_tensor({5, 9, 12, 7, 30, 0, 0, 44, 3, 17}, 2, 5);
    const Tensor mask = tensor<std::int64_t>({1, 1, 1, 1, 1, 0, 0, 1, 1, 1}, {2, 5});
    models::GenerationConfig cfg;
    cfg.max_new_tokens = 7;
    const models::GenerateOutput out = models::generate(*m, ids, mask, cfg);
    const Tensor want = argmax_loop(*m, ids, mask, 7);
    CHECK(out.sequences.to_vector<std::int64_t>() == want.to_vector<std::int64_t>());
    // The padded row generates what it generates alone.
    const Tensor alone =
        models::generate(*m, ids.select(0, 1).narrow(0, 2, 3).unsqueeze(0), Tensor(), cfg)
            .sequences;
    CHECK(
        alone.select(0, 0).to_vector<std::int64_t>() ==
        out.sequences.select(0, 1).narrow(0, 2, 10).to_vector<std::int64_t>());
  }
}

TEST_CASE("generation stops at eos and pads finished rows") {
  auto m = seeded_model(*tiny_config(), "LlamaForCausalLM");
  const Tensor ids = llama_test::ids_tensor({5, 9, 12, 7, 30, 44, 3, 17}, 2, 4);
  models::GenerationConfig cfg;
  cfg.max_new_tokens = 6;
  const Tensor free_run = models::generate(*m, ids, Tensor(), cfg).sequences;
  // Make row 0's second generated token the eos: row 0 then holds pad after its first eos.
  const auto free0 = free_run.select(0, 0).to_vector<std::int64_t>();
  const std::int64_t eos = free0[5];
  cfg.eos_token_id = {eos};
  cfg.pad_token_id = 63;
  const auto row0 =
      models::generate(*m, ids, Tensor(), cfg).sequences.select(0, 0).to_vector<std::int64_t>();
  REQUIRE(row0.size() == free0.size());  // row 1 keeps going
  bool done = false;
  for (std::size_t j = 4; j < row0.size(); ++j) {
    CHECK(row0[j] == (done ? 63 : free0[j]));
    done = done || free0[j] == eos;
  }
  CHECK(done);
  // When every row has finished the loop stops early.
  cfg.eos_token_id = {free0[4], free_run.select(0, 1)[4].item<std::int64_t>()};
  const Tensor early = models::generate(*m, ids, Tensor(), cfg).sequences;
  CHECK(early.size(1) == 5);
}

TEST_CASE("sampling is deterministic under a seed; top_k = 1 is greedy") {
  auto m = seeded_model(*tiny_config(), "LlamaForCausalLM");
  const Tensor ids = llama_test::ids_tensor({5, 9, 12, 7}, 1, 4);
  models::GenerationConfig cfg;
  cfg.max_new_tokens = 12;
  cfg.do_sample = true;
  cfg.temperature = 1.5;
  cfg.top_k = 0;
  cfg.seed = 11;
  const auto a = models::generate(*m, ids, Tensor(), cfg).sequences.to_vector<std::int64_t>();
  const auto b = models::generate(*m, ids, Tensor(), cfg).sequences.to_vector<std::int64_t>();
  CHECK(a == b);
  cfg.seed = 12;
  const auto c = models::generate(*m, ids, Tensor(), cfg).sequences.to_vector<std::int64_t>();
  CHECK(a != c);
  cfg.top_k = 1;
  models::GenerationConfig greedy;
  greedy.max_new_tokens = 12;
  CHECK(
      models::generate(*m, ids, Tensor(), cfg).sequences.to_vector<std::int64_t>() ==
      models::generate(*m, ids, Tensor(), greedy).sequences.to_vector<std::int64_t>());
}

TEST_CASE("output_scores holds the processed scores of each step") {
  auto m = seeded_model(*tiny_config(), "LlamaForCausalLM");
  const Tensor ids = llama_test::ids_tensor({5, 9, 12, 5}, 1, 4);
  models::GenerationConfig cfg;
  cfg.max_new_tokens = 3;
  cfg.repetition_penalty = 1.3;
  cfg.output_scores = true;
  const models::GenerateOutput out = models::generate(*m, ids, Tensor(), cfg);
  REQUIRE(out.scores.size() == 3);
  models::ModelInputs x;
  x.input_ids = ids;
  NoGradGuard ng;
  const Tensor last = m->forward(x).logits.select(1, 3);
  llama_test::check_close(
      out.scores[0], models::repetition_penalty(last, ids, 1.3), 1e-5, "step 0 scores");
  CHECK(argmax(out.scores[0], -1).item<std::int64_t>() == out.sequences[0][4].item<std::int64_t>());
}

TEST_CASE("repetition penalty, temperature, top-k and top-p against hand-computed rows") {
  const Tensor scores = tensor<float>({2.0f, -1.0f, 0.5f, 4.0f, -3.0f}, {1, 5});
  const Tensor seen = llama_test::ids_tensor({0, 1, 1, 4}, 1, 4);
  CHECK(
      models::repetition_penalty(scores, seen, 2.0).to_vector<float>() ==
      std::vector<float>{1.0f, -2.0f, 0.5f, 4.0f, -6.0f});
  CHECK(
      models::temperature_warp(scores, 0.5).to_vector<float>() ==
      std::vector<float>{4.0f, -2.0f, 1.0f, 8.0f, -6.0f});
  CHECK(
      models::top_k_filter(scores, 2).to_vector<float>() ==
      std::vector<float>{2.0f, -kInf, -kInf, 4.0f, -kInf});
  // Ties with the k-th value survive.
  const Tensor tied = tensor<float>({1.0f, 3.0f, 1.0f, 0.0f}, {1, 4});
  CHECK(
      models::top_k_filter(tied, 2).to_vector<float>() ==
      std::vector<float>{1.0f, 3.0f, 1.0f, -kInf});
  // Probabilities of `scores`: e^4 dominates (~0.86), e^2 ~0.12, the rest ~0.02 together.
  double z = 0;
  for (float s : scores.to_vector<float>()) z += std::exp(s);
  const double p3 = std::exp(4.0) / z, p0 = std::exp(2.0) / z;
  // top_p below p3 keeps only token 3; between p3 and p3 + p0 keeps tokens 3 and 0.
  CHECK(
      models::top_p_filter(scores, p3 * 0.99).to_vector<float>() ==
      std::vector<float>{-kInf, -kInf, -kInf, 4.0f, -kInf});
  CHECK(
      models::top_p_filter(scores, (p3 + p0) * 0.99).to_vector<float>() ==
      std::vector<float>{2.0f, -kInf, -kInf, 4.0f, -kInf});
  CHECK(models::top_p_filter(scores, 1.0).to_vector<float>() == scores.to_vector<float>());
  CHECK_THROWS_AS(models::temperature_warp(scores, 0.0), ValueError);
}

TEST_CASE("sampling follows softmax(scores)") {
  const std::int64_t n = 20000;
  const Tensor row = tensor<float>({std::log(0.1f), std::log(0.2f), std::log(0.7f), -kInf}, {1, 4});
  Generator gen(5);
  const auto picks = models::sample_from_scores(row.expand({n, 4}), gen).to_vector<std::int64_t>();
  double freq[4] = {0, 0, 0, 0};
  for (std::int64_t p : picks) freq[p] += 1.0 / static_cast<double>(n);
  CHECK(freq[0] == doctest::Approx(0.1).epsilon(0.1));
  CHECK(freq[1] == doctest::Approx(0.2).epsilon(0.07));
  CHECK(freq[2] == doctest::Approx(0.7).epsilon(0.03));
  CHECK(freq[3] == 0.0);
}

namespace {

// A scripted encoder-decoder: the "encoder" sums each row's ids; next token =
// (last decoder token + encoder sum) % 10. Records how it was called.
class ScriptedSeq2Seq : public models::PreTrainedModel {
 public:
  ScriptedSeq2Seq() {
    config_.decoder_start_token_id = 0;
    config_.vocab_size = 10;
  }
  models::ModelOutput forward(const models::ModelInputs& in) override {
    models::ModelOutput out;
    Tensor enc = in.encoder_last_hidden_state;
    if (!enc.defined()) {
      ++encoder_runs;
      enc = sum(in.input_ids, {1}).to(kFloat32).view({-1, 1, 1});
    }
    decoder_lengths.push_back(in.decoder_input_ids.size(1));
    const Tensor last = in.decoder_input_ids.select(1, in.decoder_input_ids.size(1) - 1);
    const std::int64_t b = last.size(0);
    Tensor logits = zeros({b, 1, 10});
    for (std::int64_t r = 0; r < b; ++r) {
      const auto e = static_cast<std::int64_t>(enc[r].item<float>());
      const std::int64_t tok = (last[r].item<std::int64_t>() + e) % 10;
      logits.select(0, r).select(0, 0).select(0, tok).fill_(1.0);
    }
    out.logits = logits;
    out.encoder_last_hidden_state = enc;
    return out;
  }
  const HfConfig& config() const override {
    return config_;
  }
  nn::ModulePtr input_embeddings() override {
    return nullptr;
  }
  std::string layers_path() const override {
    return "";
  }
  int encoder_runs = 0;
  std::vector<std::int64_t> decoder_lengths;

 private:
  T5Config config_;
};

}  // namespace

TEST_CASE("encoder-decoder generation runs the encoder once and grows the decoder input") {
  auto m = std::make_shared<ScriptedSeq2Seq>();
  const Tensor ids = llama_test::ids_tensor({1, 2, 3, 4}, 2, 2);  // encoder sums 3 and 7
  models::GenerationConfig cfg;
  cfg.max_new_tokens = 4;
  const models::GenerateOutput out = models::generate(*m, ids, Tensor(), cfg);
  CHECK(m->encoder_runs == 1);
  CHECK(m->decoder_lengths == std::vector<std::int64_t>{1, 1, 1, 1});  // cached: one new token
  CHECK(
      out.sequences.to_vector<std::int64_t>() ==
      std::vector<std::int64_t>{0, 3, 6, 9, 2, 0, 7, 4, 1, 8});
}

TEST_CASE("generation from a prefix cache (prefix tuning) matches the argmax loop over it") {
  auto m = seeded_model(*tiny_config(), "LlamaForCausalLM");
  const Tensor prefix_ids = llama_test::ids_tensor({20, 21, 22, 23, 24, 25}, 2, 3);
  models::KVCache prefix;
  {
    NoGradGuard ng;
    models::ModelInputs x;
    x.input_ids = prefix_ids;
    x.past_key_values = &prefix;
    x.use_cache = true;
    m->forward(x);
  }
  const Tensor before = prefix.self[1].value.clone();
  const Tensor ids = llama_test::ids_tensor({5, 9, 12, 0, 44, 3}, 2, 3);
  const Tensor mask = tensor<std::int64_t>({1, 1, 1, 0, 1, 1}, {2, 3});
  models::GenerationConfig cfg;
  cfg.max_new_tokens = 5;
  const Tensor got = models::generate(*m, ids, mask, cfg, &prefix).sequences;
  CHECK(prefix.seq_length() == 3);
  CHECK(max_abs_diff(prefix.self[1].value, before) == 0.0);
  // Reference: full forwards reading the prefix, mask extended by ones, positions from the
  // prompt's own mask shifted by the prefix length (PEFT's _adjust_prompt_learning_kwargs).
  Tensor seq = ids, msk = mask;
  NoGradGuard ng;
  for (int i = 0; i < 5; ++i) {
    models::ModelInputs x;
    x.input_ids = seq;
    x.attention_mask = cat({ones({2, 3}, kInt64), msk}, 1);
    x.past_key_values = &prefix;
    const Tensor c = cumsum(msk, 1);
    x.position_ids = add(where(eq(msk, 0.0), ones_like(c), sub(c, 1.0)), 3.0);
    const Tensor logits = m->forward(x).logits;
    seq = cat({seq, argmax(logits.select(1, logits.size(1) - 1), -1).view({2, 1})}, 1);
    msk = cat({msk, ones({2, 1}, kInt64)}, 1);
  }
  CHECK(got.to_vector<std::int64_t>() == seq.to_vector<std::int64_t>());
}

TEST_CASE("encoder-decoder generation on the golden T5 equals the argmax loop without cache") {
  const std::filesystem::path dir = test::golden_dir() / "models" / "t5_conditional_generation";
  if (test::golden_dir().empty() || !std::filesystem::is_directory(dir))
    return;
  models::ModelPtr m = models::from_pretrained(dir);
  const Tensor ids = llama_test::ids_tensor({5, 9, 12, 7, 30, 0, 44, 3, 17, 8, 0, 0}, 2, 6);
  const Tensor mask = ne(ids, 0.0).to(kInt64);
  models::GenerationConfig cfg = models::GenerationConfig::from_model_config(m->config());
  cfg.max_new_tokens = 6;
  cfg.eos_token_id.clear();  // run all steps
  const Tensor got = models::generate(*m, ids, mask, cfg).sequences;
  REQUIRE(got.shape() == Shape{2, 7});
  Tensor dec = zeros({2, 1}, kInt64);  // decoder_start_token_id 0
  NoGradGuard ng;
  for (int i = 0; i < 6; ++i) {
    models::ModelInputs x;
    x.input_ids = ids;
    x.attention_mask = mask;
    x.decoder_input_ids = dec;
    const Tensor logits = m->forward(x).logits;
    dec = cat({dec, argmax(logits.select(1, logits.size(1) - 1), -1).view({2, 1})}, 1);
  }
  CHECK(got.to_vector<std::int64_t>() == dec.to_vector<std::int64_t>());
}
