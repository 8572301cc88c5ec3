// Where prompt learning puts its virtual tokens: each PeftModel forward against the base model fed
// a hand-built equivalent (inputs_embeds with the prompt in front, or a KVCache built from the
// prefix table by index arithmetic), for every family (LLaMA with grouped-query attention,
// GPT-2, BERT, T5).
#include <doctest/doctest.h>

#include "tests/peft/prompt_learning/prompt_test_util.h"

using namespace peftcpp;
using test::max_diff;

namespace {

// [B, n, dim] copy of the table rows [0, n) for every sample.
Tensor rows(const Tensor& table, std::int64_t n, std::int64_t b) {
  return table.detach().narrow(0, 0, n).unsqueeze(0).expand({b, n, table.size(1)});
}

Tensor embed(models::PreTrainedModel& m, const Tensor& ids) {
  return dynamic_cast<nn::UnaryModule&>(*m.input_embeddings()).forward(ids);
}

Tensor ones_front(const Tensor& mask, std::int64_t n) {
  return cat({ones({mask.size(0), n}, mask.dtype()), mask}, 1);
}

// Prefix cache where decoder layer l reads table layer src[l]: key [b, h, p, d] =
// table[p, 2 * src * dim + h * head_dim + d], value at (2 * src + 1) * dim.
models::KVCache prefix_cache(
    const Tensor& table,
    std::int64_t dim,
    std::int64_t heads,
    const std::vector<std::int64_t>& src,
    std::int64_t b) {
  const std::int64_t p = table.size(0);
  models::KVCache c;
  for (const std::int64_t s : src) {
    auto kv = [&](int kind) {
      return table.detach()
          .narrow(1, (2 * s + kind) * dim, dim)
          .reshape({p, heads, dim / heads})
          .permute({1, 0, 2})
          .unsqueeze(0)
          .expand({b, heads, p, dim / heads});
    };
    c.self.push_back({kv(0), kv(1)});
  }
  return c;
}

Tensor left_padded_mask() {
  return tensor<std::int64_t>({1, 1, 1, 1, 1, 0, 0, 1, 1, 1}, {2, 5});
}

}  // namespace

TEST_CASE(
    "prompt tuning on a causal LM: logits cover the virtual positions, base fed [prompt, "
    "embeddings]") {
  for (const auto& [family, arch] :
       {std::pair<std::string, std::string>{"llama", "LlamaForCausalLM"},
        {"gpt2", "GPT2LMHeadModel"}}) {
    CAPTURE(family);
    models::ModelPtr base = test::tiny_model(family, arch);
    auto model =
        get_peft_model(base, *test::prompt_config<PromptTuningConfig>(3, TaskType::CAUSAL_LM));
    const Tensor ids = test::token_ids(2, 5);
    const Tensor mask = left_padded_mask();
    models::ModelInputs in;
    in.input_ids = ids;
    in.attention_mask = mask;
    const Tensor out = model->forward(in).logits;
    CHECK(out.shape() == Shape{2, 8, 40});
    const Tensor table = test::tuner_of(*model).encoder("default").embedding()->weight;
    models::ModelInputs ref;
    ref.inputs_embeds = cat({rows(table, 3, 2), embed(*base, ids)}, 1);
    ref.attention_mask = ones_front(mask, 3);
    CHECK(max_diff(out, base->forward(ref).logits) < 1e-6);
    // the prompt changes what the model sees
    CHECK(max_diff(out.narrow(1, 3, 5), base->forward(in).logits) > 1e-3);
    // position ids are ignored (PEFT drops them with a warning for prompt tuning)
    in.position_ids = add(arange(5).unsqueeze(0).expand({2, 5}), 7.0);
    CHECK(max_diff(model->forward(in).logits, out) == 0.0);
  }
}

TEST_CASE("prompt tuning for sequence classification prepends zero token_type_ids") {
  models::ModelPtr base = test::tiny_model("bert", "BertForSequenceClassification");
  auto model = get_peft_model(base, *test::prompt_config<PromptTuningConfig>(3, TaskType::SEQ_CLS));
  models::ModelInputs in;
  in.input_ids = test::token_ids(2, 5);
  in.attention_mask = left_padded_mask();
  in.token_type_ids = tensor<std::int64_t>({0, 0, 1, 1, 1, 0, 1, 1, 1, 1}, {2, 5});
  const Tensor out = model->forward(in).logits;
  CHECK(out.shape() == Shape{2, 2});
  const Tensor table = test::tuner_of(*model).encoder("default").embedding()->weight;
  models::ModelInputs ref;
  ref.inputs_embeds = cat({rows(table, 3, 2), embed(*base, in.input_ids)}, 1);
  ref.attention_mask = ones_front(in.attention_mask, 3);
  ref.token_type_ids = cat({zeros({2, 3}, kInt64), in.token_type_ids}, 1);
  CHECK(max_diff(out, base->forward(ref).logits) < 1e-6);
  ref.token_type_ids = cat({ones({2, 3}, kInt64), in.token_type_ids}, 1);
  CHECK(max_diff(out, base->forward(ref).logits) > 1e-5);  // the zeros are what matters
}

TEST_CASE("prefix tuning on LLaMA (grouped-query attention): per-layer keys/values of kv_heads") {
  models::ModelPtr base = test::tiny_model("llama", "LlamaForCausalLM");
  auto model =
      get_peft_model(base, *test::prompt_config<PrefixTuningConfig>(3, TaskType::CAUSAL_LM));
  const auto& cfg = model->peft_config("default").as<PrefixTuningConfig>();
  CHECK(cfg.token_dim == 8);  // head_dim 4 * 2 kv heads
  CHECK(cfg.num_attention_heads == 2);
  CHECK(cfg.num_layers == 2);
  CHECK(cfg.encoder_hidden_size == 8);
  const Tensor table = test::tuner_of(*model).encoder("default").embedding()->weight;
  CHECK(table.shape() == Shape{3, 32});
  models::ModelInputs in;
  in.input_ids = test::token_ids(2, 5);
  in.attention_mask = left_padded_mask();
  const Tensor out = model->forward(in).logits;
  CHECK(out.shape() == Shape{2, 5, 40});
  models::KVCache cache = prefix_cache(table, 8, 2, {0, 1}, 2);
  models::ModelInputs ref = in;
  ref.attention_mask = ones_front(in.attention_mask, 3);
  ref.past_key_values = &cache;
  ref.position_ids = add(arange(5).unsqueeze(0).expand({2, 5}), 3.0);  // after the prefix
  CHECK(max_diff(out, base->forward(ref).logits) < 1e-6);
  // given position ids are shifted by the prefix length
  in.position_ids = arange(5).unsqueeze(0).expand({2, 5});
  CHECK(max_diff(model->forward(in).logits, out) < 1e-6);
  models::KVCache swapped = prefix_cache(table, 8, 2, {1, 0}, 2);
  ref.past_key_values = &swapped;
  CHECK(max_diff(out, base->forward(ref).logits) > 1e-4);  // the layer order matters
}

TEST_CASE("prefix tuning on GPT-2 and BERT: keys/values of all heads, mask extended by ones") {
  for (const auto& [family, arch] :
       {std::pair<std::string, std::string>{"gpt2", "GPT2LMHeadModel"},
        {"bert", "BertForSequenceClassification"}}) {
    CAPTURE(family);
    models::ModelPtr base = test::tiny_model(family, arch);
    const TaskType task = family == "gpt2" ? TaskType::CAUSAL_LM : TaskType::SEQ_CLS;
    auto model = get_peft_model(base, *test::prompt_config<PrefixTuningConfig>(2, task));
    const Tensor table = test::tuner_of(*model).encoder("default").embedding()->weight;
    CHECK(table.shape() == Shape{2, 64});
    models::ModelInputs in;
    in.input_ids = test::token_ids(2, 5);
    in.attention_mask = left_padded_mask();
    models::KVCache cache = prefix_cache(table, 16, 4, {0, 1}, 2);
    models::ModelInputs ref = in;
    ref.attention_mask = ones_front(in.attention_mask, 2);
    ref.past_key_values = &cache;
    CHECK(max_diff(model->forward(in).logits, base->forward(ref).logits) < 1e-6);
    CHECK(max_diff(model->forward(in).logits, base->forward(in).logits) > 1e-5);
  }
}

TEST_CASE(
    "prefix tuning on T5: decoder layer l reads the prefix of layer 2l mod L, cross cache empty") {
  models::ModelPtr base = test::tiny_model("t5", "T5ForConditionalGeneration");
  auto model =
      get_peft_model(base, *test::prompt_config<PrefixTuningConfig>(2, TaskType::SEQ_2_SEQ_LM));
  const auto& cfg = model->peft_config("default").as<PrefixTuningConfig>();
  CHECK(cfg.num_transformer_submodules == 2);
  CHECK(cfg.num_layers == 3);
  const Tensor table = test::tuner_of(*model).encoder("default").embedding()->weight;
  CHECK(table.shape() == Shape{2, 96});  // prefix tuning's table is not doubled
  const models::KVCache built = test::tuner_of(*model).get_prefix_cache(2);
  CHECK(built.self.size() == 3);
  CHECK(built.cross.empty());
  models::ModelInputs in;
  in.input_ids = test::token_ids(2, 5);
  in.attention_mask = left_padded_mask();
  in.decoder_input_ids = test::token_ids(2, 4, 5);
  in.decoder_attention_mask = ones({2, 4}, kInt64);
  const Tensor out = model->forward(in).logits;
  CHECK(out.shape() == Shape{2, 4, 40});
  models::KVCache cache = prefix_cache(table, 16, 4, {0, 2, 1}, 2);  // 2l mod 3
  models::ModelInputs ref = in;
  ref.decoder_attention_mask = ones({2, 6}, kInt64);
  ref.past_key_values = &cache;
  CHECK(max_diff(out, base->forward(ref).logits) < 1e-6);
  models::KVCache plain = prefix_cache(table, 16, 4, {0, 1, 2}, 2);
  ref.past_key_values = &plain;
  CHECK(max_diff(out, base->forward(ref).logits) > 1e-4);
}

TEST_CASE("prompt tuning on T5: the encoder reads the first P rows of a 2P-row table") {
  models::ModelPtr base = test::tiny_model("t5", "T5ForConditionalGeneration");
  auto model =
      get_peft_model(base, *test::prompt_config<PromptTuningConfig>(3, TaskType::SEQ_2_SEQ_LM));
  const Tensor table = test::tuner_of(*model).encoder("default").embedding()->weight;
  CHECK(table.shape() == Shape{6, 16});
  models::ModelInputs in;
  in.input_ids = test::token_ids(2, 5);
  in.attention_mask = left_padded_mask();
  in.decoder_input_ids = test::token_ids(2, 4, 5);
  const Tensor out = model->forward(in).logits;
  CHECK(out.shape() == Shape{2, 4, 40});  // decoder positions only
  models::ModelInputs ref = in;
  ref.input_ids = Tensor();
  ref.inputs_embeds = cat({rows(table, 3, 2), embed(*base, in.input_ids)}, 1);
  ref.attention_mask = ones_front(in.attention_mask, 3);
  CHECK(max_diff(out, base->forward(ref).logits) < 1e-6);
  sum(out).backward();
  const Tensor g = table.grad();
  REQUIRE(g.defined());
  CHECK(max_diff(g.narrow(0, 3, 3), zeros({3, 16})) == 0.0);  // the decoder half is unused
  CHECK(max_diff(g.narrow(0, 0, 3), zeros({3, 16})) > 0.0);
}

TEST_CASE("disable_adapter runs the base model; modules_to_save copies stay active (as PEFT)") {
  models::ModelPtr base = test::tiny_model("bert", "BertForSequenceClassification");
  const Tensor ids = test::token_ids(2, 5);
  models::ModelInputs in;
  in.input_ids = ids;
  const Tensor before = base->forward(in).logits;
  auto model = get_peft_model(base, *test::prompt_config<PromptTuningConfig>(3, TaskType::SEQ_CLS));
  {
    NoGradGuard g;
    model->get_parameter("base_model.classifier.modules_to_save.default.weight")
        .add_(ones({2, 16}), 0.5);
  }
  const Tensor adapted = model->forward(in).logits;
  {
    auto scope = model->disable_adapter();
    const Tensor disabled = model->forward(in).logits;
    CHECK(max_diff(disabled, base->forward(in).logits) == 0.0);
    CHECK(max_diff(disabled, before) > 1e-3);  // the trained head copy is still used
    CHECK(max_diff(disabled, adapted) > 1e-4);
  }
  CHECK(max_diff(model->forward(in).logits, adapted) == 0.0);
}
