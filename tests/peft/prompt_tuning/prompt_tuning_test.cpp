// Prompt tuning: config validation, PromptEmbedding's three inits (RANDOM, SAMPLE_VOCAB, TEXT with
// a tokenizer from a path or an object), inference mode, the golden cases with byte-identical
// save round trips, and a float64 gradcheck of the prompt through a whole model.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>

#include "autograd/gradcheck.h"
#include "io/tokenizer/tokenizer.h"
#include "peft/tuners/prompt_tuning/model.h"
#include "tests/peft/prompt_learning/prompt_test_util.h"

using namespace peftcpp;
using test::max_diff;

namespace {

// WordLevel tokenizer: whitespace words, "<s>" (id 1) added in front of every text.
const char* const kTokenizerJson = R"J({
  "version": "1.0", "truncation": null, "padding": null, "added_tokens": [
    {"id": 1, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false,
     "normalized": false, "special": true}],
  "normalizer": null, "pre_tokenizer": {"type": "Whitespace"},
  "post_processor": {"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
               {"Sequence": {"id": "A", "type_id": 0}}],
    "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
             {"Sequence": {"id": "B", "type_id": 1}}],
    "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
  "decoder": null,
  "model": {"type": "WordLevel", "vocab": {"<unk>": 0, "<s>": 1, "hello": 5, "world": 9, "foo": 12},
            "unk_token": "<unk>"}})J";

Tensor word_rows(models::PreTrainedModel& m, const std::vector<std::int64_t>& ids) {
  NoGradGuard ng;
  return dynamic_cast<nn::UnaryModule&>(*m.input_embeddings())
      .forward(tensor<std::int64_t>(ids, {static_cast<std::int64_t>(ids.size())}));
}

Tensor table_of(PeftModel& model) {
  return test::tuner_of(model).encoder("default").embedding()->weight.detach();
}

}  // namespace

TEST_CASE("prompt tuning config: TEXT needs a tokenizer path and a text, kwargs only with TEXT") {
  PromptTuningConfig c;
  CHECK(c.prompt_tuning_init == "RANDOM");
  c.prompt_tuning_init = "TEXT";
  c.prompt_tuning_init_text = "hello";
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("tokenizer_name_or_path"), ConfigError);
  c.tokenizer_name_or_path = "tok";
  c.prompt_tuning_init_text.reset();
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("prompt_tuning_init_text"), ConfigError);
  c.prompt_tuning_init_text = "hello";
  CHECK_NOTHROW(c.validate());
  c.prompt_tuning_init = "RANDOM";
  c.tokenizer_kwargs = Json::object({{"use_fast", true}});
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("tokenizer_kwargs"), ConfigError);
  CHECK_THROWS_AS(
      peft_config_from_json(
          Json::parse(R"({"peft_type": "PROMPT_TUNING", "prompt_tuning_init": "WORDS"})")),
      ConfigError);
}

TEST_CASE("TEXT init token ids are cut to the table or repeated to fill it") {
  using V = std::vector<std::int64_t>;
  CHECK(prompt_tuning::fit_init_token_ids({1, 5, 9}, 7) == V{1, 5, 9, 1, 5, 9, 1});
  CHECK(prompt_tuning::fit_init_token_ids({1, 5, 9}, 2) == V{1, 5});
  CHECK(prompt_tuning::fit_init_token_ids({1, 5, 9}, 3) == V{1, 5, 9});
  CHECK_THROWS_AS(prompt_tuning::fit_init_token_ids({}, 3), ValueError);
}

TEST_CASE("RANDOM init: a N(0, 1) table of num_virtual_tokens * num_transformer_submodules rows") {
  auto cfg = test::prompt_config<PromptTuningConfig>(20, TaskType::SEQ_2_SEQ_LM);
  auto model = get_peft_model(test::tiny_model("t5", "T5ForConditionalGeneration"), *cfg);
  const Tensor t = table_of(*model);
  CHECK(t.shape() == Shape{40, 16});
  const double mean = t.mean().item<float>();
  const double sd = std::sqrt(square(t).mean().item<float>());
  CHECK(std::abs(mean) < 0.1);
  CHECK(sd > 0.9);
  CHECK(sd < 1.1);
}

TEST_CASE("SAMPLE_VOCAB init copies rows of the model's word embeddings (not in inference mode)") {
  models::ModelPtr base = test::tiny_model("llama", "LlamaForCausalLM");
  auto cfg = test::prompt_config<PromptTuningConfig>(5, TaskType::CAUSAL_LM);
  cfg->prompt_tuning_init = "SAMPLE_VOCAB";
  auto model = get_peft_model(base, *cfg);
  const Tensor t = table_of(*model);
  const Tensor vocab = base->input_embeddings()->parameters().front().detach();
  for (std::int64_t r = 0; r < 5; ++r) {
    bool found = false;
    for (std::int64_t v = 0; v < vocab.size(0) && !found; ++v)
      found = max_diff(t.select(0, r), vocab.select(0, v)) == 0.0;
    CHECK(found);
  }
  cfg->inference_mode = true;
  auto frozen = get_peft_model(test::tiny_model("llama", "LlamaForCausalLM"), *cfg);
  const Tensor u = table_of(*frozen);
  bool any_vocab_row = false;
  for (std::int64_t v = 0; v < vocab.size(0); ++v)
    any_vocab_row = any_vocab_row || max_diff(u.select(0, 0), vocab.select(0, v)) == 0.0;
  CHECK_FALSE(any_vocab_row);
}

TEST_CASE(
    "TEXT init embeds the tokenized text (special tokens included), from a path or an object") {
  model_test::ScratchDir dir("prompt_tok");
  { std::ofstream(dir.path() / "tokenizer.json") << kTokenizerJson; }
  models::ModelPtr base = test::tiny_model("gpt2", "GPT2LMHeadModel");
  auto cfg = test::prompt_config<PromptTuningConfig>(7, TaskType::CAUSAL_LM);
  cfg->prompt_tuning_init = "TEXT";
  cfg->prompt_tuning_init_text = "hello world";
  cfg->tokenizer_name_or_path = dir.path().string();  // a folder holding tokenizer.json
  auto model = get_peft_model(base, *cfg);
  CHECK(max_diff(table_of(*model), word_rows(*base, {1, 5, 9, 1, 5, 9, 1})) == 0.0);

  auto short_cfg = test::prompt_config<PromptTuningConfig>(2, TaskType::CAUSAL_LM);
  short_cfg->prompt_tuning_init = "TEXT";
  short_cfg->prompt_tuning_init_text = "foo hello world";
  short_cfg->tokenizer_name_or_path = "not/used/when/an/object/is/given";
  short_cfg->tokenizer = std::make_shared<const Tokenizer>(Tokenizer::from_json(kTokenizerJson));
  auto cut = get_peft_model(test::tiny_model("gpt2", "GPT2LMHeadModel"), *short_cfg);
  CHECK(max_diff(table_of(*cut), word_rows(*base, {1, 12})) == 0.0);

  auto missing = test::prompt_config<PromptTuningConfig>(2, TaskType::CAUSAL_LM);
  missing->prompt_tuning_init = "TEXT";
  missing->prompt_tuning_init_text = "hello";
  missing->tokenizer_name_or_path = (dir.path() / "nowhere").string();
  CHECK_THROWS_WITH_AS(
      get_peft_model(test::tiny_model("gpt2", "GPT2LMHeadModel"), *missing),
      doctest::Contains("nowhere"),
      IoError);
}

TEST_CASE("prompt tuning golden cases pass and their adapter files save back byte for byte") {
  const int n = test::check_golden_cases("PROMPT_TUNING");
  MESSAGE(n << " golden prompt tuning cases");
}

TEST_CASE("the prompt passes a float64 gradcheck through a whole model (LLaMA, BERT, T5)") {
  for (const auto& [family, arch, task] :
       {std::tuple<std::string, std::string, TaskType>{
            "llama", "LlamaForCausalLM", TaskType::CAUSAL_LM},
        {"bert", "BertForSequenceClassification", TaskType::SEQ_CLS},
        {"t5", "T5ForConditionalGeneration", TaskType::SEQ_2_SEQ_LM}}) {
    CAPTURE(family);
    auto model = get_peft_model(
        test::tiny_model(family, arch), *test::prompt_config<PromptTuningConfig>(2, task));
    model->to(kFloat64);
    models::ModelInputs in;
    in.input_ids = test::token_ids(2, 3);
    if (task == TaskType::SEQ_2_SEQ_LM)
      in.decoder_input_ids = test::token_ids(2, 2, 4);
    Tensor& table = test::tuner_of(*model).encoder("default").embedding()->weight;
    const GradcheckResult r =
        gradcheck([&](const TensorList&) { return model->forward(in).logits; }, {table});
    CHECK_MESSAGE(r.ok, r.message);
  }
}
