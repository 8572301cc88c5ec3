// P-tuning: PromptEncoder's MLP and LSTM heads (layers, names, forward by hand), its config
// fields, inference mode, the golden cases with byte-identical save round trips, and float64
// gradchecks of both heads (alone and through a whole model).
#include <doctest/doctest.h>

#include "autograd/gradcheck.h"
#include "nn/layers/linear.h"
#include "peft/tuners/p_tuning/model.h"
#include "tests/peft/prompt_learning/prompt_test_util.h"

using namespace peftcpp;
using test::max_diff;

namespace {

PromptEncoderConfig encoder_config(const std::string& type) {
  PromptEncoderConfig c;
  c.num_virtual_tokens = 4;
  c.num_transformer_submodules = 1;
  c.token_dim = 6;
  c.encoder_hidden_size = 5;
  c.encoder_reparameterization_type = type;
  return c;
}

Tensor lin(const nn::ModulePtr& m, const Tensor& x) {
  const auto l = std::dynamic_pointer_cast<nn::Linear>(m);
  REQUIRE(l != nullptr);
  return add(matmul(x, l->weight.detach().t()), l->bias.detach());
}

std::vector<std::string> names_of(const nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& [n, p] : m.named_parameters()) out.push_back(n);
  return out;
}

}  // namespace

TEST_CASE("MLP head: Linear(dim, H), ReLU, Linear(H, H), ReLU, Linear(H, dim) by hand") {
  auto enc = std::make_shared<p_tuning::PromptEncoder>(encoder_config("MLP"));
  CHECK(enc->lstm_head() == nullptr);
  CHECK(
      names_of(*enc) == std::vector<std::string>{
                            "embedding.weight",
                            "mlp_head.0.weight",
                            "mlp_head.0.bias",
                            "mlp_head.2.weight",
                            "mlp_head.2.bias",
                            "mlp_head.4.weight",
                            "mlp_head.4.bias"});
  const auto layers = enc->mlp_head()->children();
  REQUIRE(layers.size() == 5);
  CHECK(layers[1]->type_name() == "ReLU");
  const Tensor e = enc->embedding()->weight.detach();
  const Tensor want = lin(layers[4], relu(lin(layers[2], relu(lin(layers[0], e)))));
  const Tensor got = enc->forward(arange(4).unsqueeze(0));
  CHECK(got.shape() == Shape{1, 4, 6});
  CHECK(max_diff(got.select(0, 0), want) < 1e-6);
  // encoder_num_layers is ignored (with a warning) for MLP
  PromptEncoderConfig c = encoder_config("MLP");
  c.encoder_num_layers = 5;
  CHECK(names_of(p_tuning::PromptEncoder(c)).size() == 7);
}

TEST_CASE(
    "LSTM head: bidirectional LSTM(dim -> H, encoder_num_layers), then Linear(2H, 2H), ReLU, "
    "Linear(2H, dim)") {
  PromptEncoderConfig c = encoder_config("LSTM");
  c.encoder_num_layers = 3;
  c.encoder_dropout = 0.25;
  auto enc = std::make_shared<p_tuning::PromptEncoder>(c);
  const auto& lstm = enc->lstm_head();
  REQUIRE(lstm != nullptr);
  CHECK(lstm->bidirectional);
  CHECK(lstm->batch_first);
  CHECK(lstm->num_layers == 3);
  CHECK(lstm->dropout == 0.25);
  CHECK(enc->get_parameter("lstm_head.weight_ih_l0").shape() == Shape{20, 6});
  CHECK(enc->get_parameter("lstm_head.weight_ih_l2_reverse").shape() == Shape{20, 10});
  CHECK(enc->get_parameter("mlp_head.0.weight").shape() == Shape{10, 10});
  CHECK(enc->get_parameter("mlp_head.2.weight").shape() == Shape{6, 10});
  enc->eval();
  const Tensor e = enc->embedding()->weight.detach().unsqueeze(0);
  const auto layers = enc->mlp_head()->children();
  const Tensor want = lin(layers[2], relu(lin(layers[0], lstm->forward(e).output)));
  CHECK(max_diff(enc->forward(arange(4).unsqueeze(0)), want) < 1e-6);
}

TEST_CASE("inference mode builds only the table; the config checks its fields") {
  PromptEncoderConfig c = encoder_config("LSTM");
  c.inference_mode = true;
  auto enc = std::make_shared<p_tuning::PromptEncoder>(c);
  CHECK(names_of(*enc) == std::vector<std::string>{"embedding.weight"});
  CHECK_THROWS_AS(enc->forward(arange(4).unsqueeze(0)), ValueError);
  CHECK_THROWS_AS(
      peft_config_from_json(
          Json::parse(R"({"peft_type": "P_TUNING", "encoder_reparameterization_type": "GRU"})")),
      ConfigError);
  CHECK_THROWS_AS(
      peft_config_from_json(Json::parse(R"({"peft_type": "P_TUNING", "encoder_dropout": 1.5})")),
      ConfigError);
  const auto d = peft_config_from_json(Json::parse(R"({"peft_type": "P_TUNING"})"));
  const auto& pc = d->as<PromptEncoderConfig>();
  CHECK(pc.encoder_reparameterization_type == "MLP");
  CHECK(pc.encoder_num_layers == 2);
  CHECK(pc.encoder_dropout == 0.0);
  CHECK_FALSE(pc.encoder_hidden_size.has_value());
}

TEST_CASE("P-tuning golden cases pass and their adapter files save back byte for byte") {
  const int n = test::check_golden_cases("P_TUNING");
  MESSAGE(n << " golden P-tuning cases");
}

TEST_CASE("both heads pass a float64 gradcheck, alone and through GPT-2") {
  for (const char* type : {"MLP", "LSTM"}) {
    CAPTURE(type);
    auto enc = std::make_shared<p_tuning::PromptEncoder>(encoder_config(type));
    enc->to(kFloat64);
    const GradcheckResult r = gradcheck(
        [&](const TensorList&) { return enc->forward(arange(4).unsqueeze(0)); }, enc->parameters());
    CHECK_MESSAGE(r.ok, r.message);

    auto cfg = test::prompt_config<PromptEncoderConfig>(2, TaskType::CAUSAL_LM);
    cfg->encoder_reparameterization_type = type;
    cfg->encoder_hidden_size = 3;
    auto model = get_peft_model(test::tiny_model("gpt2", "GPT2LMHeadModel"), *cfg);
    model->to(kFloat64);
    models::ModelInputs in;
    in.input_ids = test::token_ids(1, 3);
    TensorList params;
    for (const auto& [n, p] : model->named_parameters()) {
      if (p.requires_grad())
        params.push_back(p);
    }
    const GradcheckResult rm =
        gradcheck([&](const TensorList&) { return model->forward(in).logits; }, params);
    CHECK_MESSAGE(rm.ok, rm.message);
  }
}
