// Prompt learning inside PeftModel: config preparation, what is trainable, several adapters,
// what is refused, and the adapter files (prompt_embeddings).
#include <doctest/doctest.h>

#include <set>

#include "peft/golden/custom_models.h"
#include "peft/tuners/p_tuning/model.h"
#include "tests/peft/prompt_learning/prompt_test_util.h"

using namespace peftcpp;
using test::max_diff;

TEST_CASE("prompt learning configs take their sizes from the model config") {
  {
    auto c = test::prompt_config<PromptTuningConfig>(4, TaskType::CAUSAL_LM);
    prompt_learning::prepare_prompt_learning_config(*c, *test::tiny_config("gpt2"));
    CHECK(c->num_layers == 2);
    CHECK(c->token_dim == 16);
    CHECK(c->num_attention_heads == 4);
  }
  {  // prefix tuning on grouped-query attention: head_dim * kv_heads, kv_heads (idempotent)
    auto c = test::prompt_config<PrefixTuningConfig>(4, TaskType::CAUSAL_LM);
    const auto llama = test::tiny_config("llama");
    prompt_learning::prepare_prompt_learning_config(*c, *llama);
    CHECK(c->token_dim == 8);
    CHECK(c->num_attention_heads == 2);
    CHECK(c->encoder_hidden_size == 8);
    prompt_learning::prepare_prompt_learning_config(*c, *llama);
    CHECK(c->token_dim == 8);
    CHECK(c->num_attention_heads == 2);
  }
  {  // prompt tuning keeps the full width; given values are kept
    auto c = test::prompt_config<PromptEncoderConfig>(4, TaskType::CAUSAL_LM);
    c->encoder_hidden_size = 5;
    c->num_layers = 7;
    prompt_learning::prepare_prompt_learning_config(*c, *test::tiny_config("llama"));
    CHECK(c->token_dim == 16);
    CHECK(c->num_attention_heads == 4);
    CHECK(c->num_layers == 7);
    CHECK(c->encoder_hidden_size == 5);
  }
  {  // T5: d_model, num_heads, num_layers; two transformer submodules for seq2seq
    auto model = get_peft_model(
        test::tiny_model("t5", "T5ForConditionalGeneration"),
        *test::prompt_config<PromptTuningConfig>(2, TaskType::SEQ_2_SEQ_LM));
    const auto& c = model->peft_config("default").as<PromptTuningConfig>();
    CHECK(c.num_transformer_submodules == 2);
    CHECK(c.token_dim == 16);
    CHECK(c.num_layers == 3);
  }
}

TEST_CASE("only the prompt encoder and the classification head copy are trainable") {
  auto model = get_peft_model(
      test::tiny_model("bert", "BertForSequenceClassification"),
      *test::prompt_config<PromptEncoderConfig>(3, TaskType::SEQ_CLS));
  std::set<std::string> trainable;
  bool base_seen = false;
  for (const auto& [n, p] : model->named_parameters()) {
    base_seen = base_seen || n == "base_model.bert.embeddings.word_embeddings.weight";
    if (p.requires_grad())
      trainable.insert(n);
  }
  CHECK(base_seen);
  const std::set<std::string> want{
      "base_model.classifier.modules_to_save.default.bias",
      "base_model.classifier.modules_to_save.default.weight",
      "prompt_encoder.default.embedding.weight",
      "prompt_encoder.default.mlp_head.0.bias",
      "prompt_encoder.default.mlp_head.0.weight",
      "prompt_encoder.default.mlp_head.2.bias",
      "prompt_encoder.default.mlp_head.2.weight",
      "prompt_encoder.default.mlp_head.4.bias",
      "prompt_encoder.default.mlp_head.4.weight"};
  CHECK(trainable == want);
  const auto& cfg = model->peft_config("default").as<PromptEncoderConfig>();
  REQUIRE(cfg.modules_to_save.has_value());
  CHECK(*cfg.modules_to_save == std::vector<std::string>{"classifier", "score"});
  // 3 * 16 + (16*16 + 16) * 3 + 2 * 16 + 2
  CHECK(model->get_nb_trainable_parameters().first == 48 + 272 * 3 + 34);
}

TEST_CASE("several prompt adapters: set_adapter switches the prompt, delete_adapter falls back") {
  models::ModelPtr base = test::tiny_model("llama", "LlamaForCausalLM");
  auto model =
      get_peft_model(base, *test::prompt_config<PromptTuningConfig>(3, TaskType::CAUSAL_LM));
  model->add_adapter("other", test::prompt_config<PromptTuningConfig>(2, TaskType::CAUSAL_LM));
  auto& tuner = test::tuner_of(*model);
  CHECK(tuner.prompt_encoder()->keys() == std::vector<std::string>{"default", "other"});
  models::ModelInputs in;
  in.input_ids = test::token_ids(2, 5);
  const Tensor first = model->forward(in).logits;
  CHECK(first.size(1) == 8);
  model->set_adapter("other");
  const Tensor second = model->forward(in).logits;
  CHECK(second.size(1) == 7);
  models::ModelInputs ref;
  ref.inputs_embeds =
      cat({tuner.encoder("other").embedding()->weight.detach().unsqueeze(0).expand({2, 2, 16}),
           dynamic_cast<nn::UnaryModule&>(*base->input_embeddings()).forward(in.input_ids)},
          1);
  CHECK(max_diff(second, base->forward(ref).logits) < 1e-6);
  CHECK_THROWS_AS(
      model->add_adapter("other", test::prompt_config<PromptTuningConfig>(2, TaskType::CAUSAL_LM)),
      ValueError);
  model->delete_adapter("other");
  CHECK(model->active_adapter() == "default");
  CHECK(tuner.prompt_encoder()->keys() == std::vector<std::string>{"default"});
  CHECK(max_diff(model->forward(in).logits, first) == 0.0);
}

TEST_CASE("merging, set_requires_grad, forward(Tensor) and non-transformers models are refused") {
  models::ModelPtr base = test::tiny_model("gpt2", "GPT2LMHeadModel");
  const nn::StateDict before = base->state_dict();
  auto model =
      get_peft_model(base, *test::prompt_config<PrefixTuningConfig>(2, TaskType::CAUSAL_LM));
  CHECK_THROWS_WITH_AS(model->merge_and_unload(), doctest::Contains("prompt learning"), ValueError);
  CHECK_THROWS_AS(model->merge_adapter(), ValueError);
  for (const auto& [k, v] : base->state_dict()) CHECK(max_diff(v, before.at(k)) == 0.0);
  CHECK_THROWS_AS(model->set_requires_grad({"default"}), ValueError);
  CHECK_THROWS_AS(model->forward(zeros({2, 3})), ValueError);
  auto mlp = std::make_shared<peft::CustomModel>(Json::parse(
      R"J({"forward": "out = lin0(X)", "modules": {"lin0": {"type": "Linear", "in_features": 4,
          "out_features": 2, "bias": true}}})J"));
  CHECK_THROWS_WITH_AS(
      get_peft_model(mlp, *test::prompt_config<PromptTuningConfig>(2, TaskType::CAUSAL_LM)),
      doctest::Contains("transformers model"),
      ValueError);
}

TEST_CASE("save_pretrained stores the encoder's output; from_pretrained reproduces the forward") {
  model_test::ScratchDir dir("prompt_save");
  auto cfg = test::prompt_config<PromptEncoderConfig>(3, TaskType::CAUSAL_LM);
  cfg->encoder_reparameterization_type = "LSTM";
  cfg->encoder_hidden_size = 6;
  auto model = get_peft_model(test::tiny_model("llama", "LlamaForCausalLM"), *cfg);
  auto& enc = dynamic_cast<p_tuning::PromptEncoder&>(test::tuner_of(*model).encoder("default"));
  models::ModelInputs in;
  in.input_ids = test::token_ids(2, 4);
  const Tensor out = model->forward(in).logits;
  model->save_pretrained(dir.path());
  const TensorMap file = load_safetensors((dir.path() / "adapter_model.safetensors").string());
  REQUIRE(file.size() == 1);
  const Tensor table = enc.embedding()->weight.detach().unsqueeze(0);
  const Tensor by_hand =
      enc.mlp_head()->forward(enc.lstm_head()->forward(table).output).select(0, 0);
  CHECK(max_diff(file.at("prompt_embeddings"), by_hand) < 1e-6);
  const auto saved = load_peft_config(dir.path());
  CHECK(saved->inference_mode);

  auto reloaded =
      PeftModel::from_pretrained(test::tiny_model("llama", "LlamaForCausalLM"), dir.path());
  CHECK(reloaded->type_name() == "PeftModelForCausalLM");
  auto& loaded_enc =
      dynamic_cast<p_tuning::PromptEncoder&>(test::tuner_of(*reloaded).encoder("default"));
  CHECK(loaded_enc.mlp_head() == nullptr);  // inference mode: the table is the prompt
  CHECK(max_diff(reloaded->forward(in).logits, out) < 1e-5);
  model_test::ScratchDir again("prompt_save_again");
  reloaded->save_pretrained(again.path());
  CHECK(test::same_bytes(
      dir.path() / "adapter_model.safetensors", again.path() / "adapter_model.safetensors"));
  CHECK(test::same_bytes(dir.path() / "adapter_config.json", again.path() / "adapter_config.json"));
  CHECK_THROWS_AS(
      PeftModel::from_pretrained(
          test::tiny_model("llama", "LlamaForCausalLM"), dir.path(), "default", true),
      ValueError);
  // load_adapter adds it under another name next to a fresh adapter
  models::ModelPtr base = test::tiny_model("llama", "LlamaForCausalLM");
  manual_seed(99);  // another draw of the fresh encoder
  auto fresh = get_peft_model(base, *cfg);
  fresh->load_adapter(dir.path(), "trained");
  CHECK(max_diff(fresh->forward(in).logits, out) > 1e-4);
  fresh->set_adapter("trained");
  CHECK(max_diff(fresh->forward(in).logits, out) < 1e-5);
}

TEST_CASE("a prompt of the wrong shape or a file without prompt_embeddings is refused") {
  model_test::ScratchDir dir("prompt_bad");
  auto model = get_peft_model(
      test::tiny_model("gpt2", "GPT2LMHeadModel"),
      *test::prompt_config<PromptTuningConfig>(3, TaskType::CAUSAL_LM));
  model->save_pretrained(dir.path());
  save_safetensors(
      (dir.path() / "adapter_model.safetensors").string(),
      TensorMap{{"prompt_embeddings", zeros({5, 16})}});
  CHECK_THROWS_WITH(
      PeftModel::from_pretrained(test::tiny_model("gpt2", "GPT2LMHeadModel"), dir.path()),
      doctest::Contains("prompt_encoder.default.embedding.weight"));
  save_safetensors(
      (dir.path() / "adapter_model.safetensors").string(), TensorMap{{"other", zeros({3, 16})}});
  CHECK_THROWS_WITH_AS(
      PeftModel::from_pretrained(test::tiny_model("gpt2", "GPT2LMHeadModel"), dir.path()),
      doctest::Contains("prompt_embeddings"),
      ValueError);
}

TEST_CASE("prompt_learning_labels puts -100 in front of causal-LM labels") {
  const Tensor labels = tensor<std::int64_t>({5, 6, 7, 8}, {2, 2});
  const Tensor l = prompt_learning::prompt_learning_labels(labels, 2);
  CHECK(
      l.to_vector<std::int64_t>() == std::vector<std::int64_t>{-100, -100, 5, 6, -100, -100, 7, 8});
}
