// Prefix tuning: PrefixEncoder (table, projection MLP by hand, zero init, inference mode,
// load_prompt_embeddings), what the adapter file stores, the golden cases with byte-identical
// save round trips, and float64 gradchecks of the prefix through whole models.
#include <doctest/doctest.h>

#include "autograd/gradcheck.h"
#include "nn/layers/linear.h"
#include "peft/tuners/prefix_tuning/model.h"
#include "tests/peft/prompt_learning/prompt_test_util.h"

using namespace peftcpp;
using test::max_diff;

namespace {

PrefixTuningConfig encoder_config(bool projection) {
  PrefixTuningConfig c;
  c.num_virtual_tokens = 3;
  c.token_dim = 4;
  c.num_layers = 2;
  c.encoder_hidden_size = 5;
  c.prefix_projection = projection;
  return c;
}

// tanh(E W0^T + b0) W2^T + b2 over the table E.
Tensor projected_by_hand(prefix_tuning::PrefixEncoder& enc) {
  const auto l0 = std::dynamic_pointer_cast<nn::Linear>(enc.transform()->children()[0]);
  const auto l2 = std::dynamic_pointer_cast<nn::Linear>(enc.transform()->children()[2]);
  REQUIRE(l0 != nullptr);
  REQUIRE(l2 != nullptr);
  const Tensor e = enc.embedding()->weight.detach();
  const Tensor h = tanh(add(matmul(e, l0->weight.detach().t()), l0->bias.detach()));
  return add(matmul(h, l2->weight.detach().t()), l2->bias.detach());
}

Tensor all_tokens(std::int64_t n) {
  return arange(n).unsqueeze(0);
}

}  // namespace

TEST_CASE("PrefixEncoder: the table is the prefix; with projection Linear, Tanh, Linear by hand") {
  auto plain = std::make_shared<prefix_tuning::PrefixEncoder>(encoder_config(false));
  CHECK(plain->embedding()->weight.shape() == Shape{3, 16});  // num_layers * 2 * token_dim
  CHECK(plain->transform() == nullptr);
  CHECK(max_diff(plain->forward(all_tokens(3)).select(0, 0), plain->embedding()->weight) == 0.0);

  auto proj = std::make_shared<prefix_tuning::PrefixEncoder>(encoder_config(true));
  std::vector<std::string> names;
  for (const auto& [n, p] : proj->named_parameters()) names.push_back(n);
  CHECK(
      names == std::vector<std::string>{
                   "embedding.weight",
                   "transform.0.weight",
                   "transform.0.bias",
                   "transform.2.weight",
                   "transform.2.bias"});
  CHECK(proj->embedding()->weight.shape() == Shape{3, 4});
  const Tensor out = proj->forward(all_tokens(3));
  CHECK(out.shape() == Shape{1, 3, 16});
  CHECK(max_diff(out.select(0, 0), projected_by_hand(*proj)) < 1e-6);
}

TEST_CASE("init_weights 'zero' zeroes the table, or the projection's last layer") {
  PrefixTuningConfig c = encoder_config(false);
  c.init_weights = "zero";
  auto plain = std::make_shared<prefix_tuning::PrefixEncoder>(c);
  CHECK(max_diff(plain->embedding()->weight, zeros({3, 16})) == 0.0);
  c.prefix_projection = true;
  auto proj = std::make_shared<prefix_tuning::PrefixEncoder>(c);
  CHECK(max_diff(proj->forward(all_tokens(3)), zeros({1, 3, 16})) == 0.0);
  CHECK(max_diff(proj->embedding()->weight, zeros({3, 4})) > 0.0);
  CHECK_THROWS_AS(
      peft_config_from_json(
          Json::parse(R"({"peft_type": "PREFIX_TUNING", "init_weights": "one"})")),
      ConfigError);
}

TEST_CASE("inference mode builds only the output-sized table; load_prompt_embeddings fills it") {
  PrefixTuningConfig c = encoder_config(true);
  c.inference_mode = true;
  auto enc = std::make_shared<prefix_tuning::PrefixEncoder>(c);
  CHECK(enc->transform() == nullptr);
  CHECK(enc->embedding()->weight.shape() == Shape{3, 16});
  CHECK_THROWS_AS(enc->forward(all_tokens(3)), ValueError);  // PEFT uses the table directly
  CHECK_THROWS_AS(enc->load_prompt_embeddings(zeros({3, 16})), ValueError);  // projection set
  auto plain = std::make_shared<prefix_tuning::PrefixEncoder>(encoder_config(false));
  const Tensor v = randn({3, 16});
  plain->load_prompt_embeddings(v);
  CHECK(max_diff(plain->embedding()->weight, v) == 0.0);
  CHECK_THROWS_WITH_AS(
      plain->load_prompt_embeddings(zeros({4, 16})), doctest::Contains("[4, 16]"), ShapeError);
}

TEST_CASE("with projection the adapter file stores the projected prefix; reloading reproduces it") {
  model_test::ScratchDir dir("prefix_save");
  auto cfg = test::prompt_config<PrefixTuningConfig>(3, TaskType::CAUSAL_LM);
  cfg->prefix_projection = true;
  cfg->encoder_hidden_size = 6;
  auto model = get_peft_model(test::tiny_model("llama", "LlamaForCausalLM"), *cfg);
  auto& enc =
      dynamic_cast<prefix_tuning::PrefixEncoder&>(test::tuner_of(*model).encoder("default"));
  models::ModelInputs in;
  in.input_ids = test::token_ids(2, 4);
  const Tensor out = model->forward(in).logits;
  model->save_pretrained(dir.path());
  const TensorMap file = load_safetensors((dir.path() / "adapter_model.safetensors").string());
  REQUIRE(file.count("prompt_embeddings") == 1);
  CHECK(file.at("prompt_embeddings").shape() == Shape{3, 32});  // 2 layers * 2 * (4 * 2 kv heads)
  CHECK(max_diff(file.at("prompt_embeddings"), projected_by_hand(enc)) < 1e-6);
  auto reloaded =
      PeftModel::from_pretrained(test::tiny_model("llama", "LlamaForCausalLM"), dir.path());
  CHECK(max_diff(reloaded->forward(in).logits, out) < 1e-5);
  model_test::ScratchDir again("prefix_save_again");
  reloaded->save_pretrained(again.path());
  CHECK(test::same_bytes(
      dir.path() / "adapter_model.safetensors", again.path() / "adapter_model.safetensors"));
  CHECK(test::same_bytes(dir.path() / "adapter_config.json", again.path() / "adapter_config.json"));
}

TEST_CASE("prefix tuning golden cases pass and their adapter files save back byte for byte") {
  const int n = test::check_golden_cases("PREFIX_TUNING");
  MESSAGE(n << " golden prefix tuning cases");
}

TEST_CASE("the prefix passes a float64 gradcheck through whole models (projection on LLaMA, T5)") {
  {
    auto cfg = test::prompt_config<PrefixTuningConfig>(2, TaskType::CAUSAL_LM);
    cfg->prefix_projection = true;
    cfg->encoder_hidden_size = 3;
    auto model = get_peft_model(test::tiny_model("llama", "LlamaForCausalLM"), *cfg);
    model->to(kFloat64);
    models::ModelInputs in;
    in.input_ids = test::token_ids(1, 3);
    TensorList params;
    for (const auto& [n, p] : model->named_parameters()) {
      if (p.requires_grad())
        params.push_back(p);
    }
    CHECK(params.size() == 5);
    const GradcheckResult r =
        gradcheck([&](const TensorList&) { return model->forward(in).logits; }, params);
    CHECK_MESSAGE(r.ok, r.message);
  }
  {
    auto model = get_peft_model(
        test::tiny_model("t5", "T5ForConditionalGeneration"),
        *test::prompt_config<PrefixTuningConfig>(2, TaskType::SEQ_2_SEQ_LM));
    model->to(kFloat64);
    models::ModelInputs in;
    in.input_ids = test::token_ids(1, 3);
    in.decoder_input_ids = test::token_ids(1, 2, 4);
    Tensor& table = test::tuner_of(*model).encoder("default").embedding()->weight;
    const GradcheckResult r =
        gradcheck([&](const TensorList&) { return model->forward(in).logits; }, {table});
    CHECK_MESSAGE(r.ok, r.message);
  }
}
