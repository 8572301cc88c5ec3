// PeftModel::generate with virtual tokens in place: greedy generation must pick the argmax of the
// PeftModel's own full forward at every step (prompt tuning, P-tuning, prefix tuning; decoder-only
// and encoder-decoder), and with adapters disabled it is the base model's generation.
#include <doctest/doctest.h>

#include "tests/peft/prompt_learning/prompt_test_util.h"

using namespace peftcpp;

namespace {

constexpr int kNew = 4;

models::GenerationConfig greedy() {
  models::GenerationConfig g;
  g.max_new_tokens = kNew;  // no eos: every row runs to the end
  return g;
}

Tensor next_token(const Tensor& logits) {
  return argmax(logits.select(1, logits.size(1) - 1), -1).view({logits.size(0), 1}).to(kInt64);
}

// Decoder-only reference: [prompt ids, argmax of the full forward over everything so far, ...].
Tensor argmax_loop(PeftModel& model, const Tensor& ids) {
  NoGradGuard ng;
  Tensor seq = ids;
  for (int i = 0; i < kNew; ++i) {
    models::ModelInputs in;
    in.input_ids = seq;
    seq = cat({seq, next_token(model.forward(in).logits)}, 1);
  }
  return seq;
}

// Encoder-decoder reference: the decoder sequence from decoder_start_token_id (0).
Tensor argmax_loop_seq2seq(PeftModel& model, const Tensor& ids) {
  NoGradGuard ng;
  Tensor dec = zeros({ids.size(0), 1}, kInt64);
  for (int i = 0; i < kNew; ++i) {
    models::ModelInputs in;
    in.input_ids = ids;
    in.decoder_input_ids = dec;
    dec = cat({dec, next_token(model.forward(in).logits)}, 1);
  }
  return dec;
}

void check_decoder_only(
    const std::string& family, const std::string& arch, std::unique_ptr<PeftConfig> cfg) {
  CAPTURE(family);
  auto model = get_peft_model(test::tiny_model(family, arch), std::move(cfg));
  model->eval();
  const Tensor ids = test::token_ids(2, 5);
  const Tensor got = model->generate(ids, Tensor(), greedy()).sequences;
  CHECK(got.shape() == Shape{2, 5 + kNew});
  CHECK(got.to_vector<std::int64_t>() == argmax_loop(*model, ids).to_vector<std::int64_t>());
}

}  // namespace

TEST_CASE("greedy generation with prompt tuning / P-tuning equals the argmax of full forwards") {
  check_decoder_only(
      "llama", "LlamaForCausalLM", test::prompt_config<PromptTuningConfig>(3, TaskType::CAUSAL_LM));
  check_decoder_only(
      "gpt2", "GPT2LMHeadModel", test::prompt_config<PromptTuningConfig>(3, TaskType::CAUSAL_LM));
  check_decoder_only(
      "llama",
      "LlamaForCausalLM",
      test::prompt_config<PromptEncoderConfig>(2, TaskType::CAUSAL_LM));
}

TEST_CASE("greedy generation with prefix tuning equals the argmax of full forwards") {
  check_decoder_only(
      "llama", "LlamaForCausalLM", test::prompt_config<PrefixTuningConfig>(3, TaskType::CAUSAL_LM));
  auto projected = test::prompt_config<PrefixTuningConfig>(2, TaskType::CAUSAL_LM);
  projected->prefix_projection = true;
  check_decoder_only("gpt2", "GPT2LMHeadModel", std::move(projected));
}

TEST_CASE("greedy T5 generation with prompt tuning and prefix tuning equals full forwards") {
  const Tensor ids = test::token_ids(2, 5);
  for (bool prefix : {false, true}) {
    CAPTURE(prefix);
    std::unique_ptr<PeftConfig> cfg;
    if (prefix)
      cfg = test::prompt_config<PrefixTuningConfig>(2, TaskType::SEQ_2_SEQ_LM);
    else
      cfg = test::prompt_config<PromptTuningConfig>(3, TaskType::SEQ_2_SEQ_LM);
    auto model =
        get_peft_model(test::tiny_model("t5", "T5ForConditionalGeneration"), std::move(cfg));
    model->eval();
    const Tensor got = model->generate(ids, Tensor(), greedy()).sequences;
    CHECK(got.shape() == Shape{2, 1 + kNew});
    CHECK(
        got.to_vector<std::int64_t>() ==
        argmax_loop_seq2seq(*model, ids).to_vector<std::int64_t>());
  }
}

TEST_CASE("generation with the adapter disabled is the base model's") {
  models::ModelPtr base = test::tiny_model("llama", "LlamaForCausalLM");
  const Tensor ids = test::token_ids(2, 5);
  models::GenerationConfig cfg = greedy();
  cfg.output_scores = true;
  const models::GenerateOutput plain = models::generate(*base, ids, Tensor(), cfg);
  auto model =
      get_peft_model(base, *test::prompt_config<PromptTuningConfig>(4, TaskType::CAUSAL_LM));
  const models::GenerateOutput adapted = model->generate(ids, Tensor(), cfg);
  auto scope = model->disable_adapter();
  const models::GenerateOutput disabled = model->generate(ids, Tensor(), cfg);
  CHECK(disabled.sequences.to_vector<std::int64_t>() == plain.sequences.to_vector<std::int64_t>());
  CHECK(test::max_diff(disabled.scores[0], plain.scores[0]) == 0.0);
  CHECK(test::max_diff(adapted.scores[0], plain.scores[0]) > 1e-4);
}
