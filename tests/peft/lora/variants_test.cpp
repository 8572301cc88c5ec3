// LoRA variants and extras in training mode and their defining properties: dropout (train only,
// seeded), VeLoRA's compressed weight gradient, MonteCLoRA sampling, KaSA's truncated base,
// BD-LoRA blocks, trainable token rows.
#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "peft/tuners/lora/layer.h"
#include "peft/tuners/trainable_tokens/layer.h"
#include "peft/utils/auxiliary.h"
#include "tests/peft/peft_test_util.h"

using namespace peftcpp;

namespace {

const char* kOneLinear = R"J({"forward": "out = lin0(X)", "modules": {
    "lin0": {"type": "Linear", "in_features": 16, "out_features": 6, "bias": true}}})J";

std::shared_ptr<lora::LoraLayer> lin0_of(PeftModel& m) {
  return m.get_base_model()->get_submodule_as<lora::LoraLayer>("lin0");
}

}  // namespace

TEST_CASE("lora dropout is active in training mode only and follows the seed") {
  auto cfg = test::lora_config({"lin0"});
  cfg->lora_dropout = 0.5;
  auto model = get_peft_model(test::make_model(kOneLinear), std::move(cfg));
  NoGradGuard g;
  const Tensor x = randn({8, 16});
  model->train();
  manual_seed(3);
  const Tensor a = model->forward(x);
  const Tensor b = model->forward(x);
  manual_seed(3);
  const Tensor c = model->forward(x);
  CHECK(test::max_diff(a, b) > 1e-4);
  CHECK(test::max_diff(a, c) == 0.0);
  model->eval();
  CHECK(test::max_diff(model->forward(x), model->forward(x)) == 0.0);
}

TEST_CASE("velora keeps the forward and builds dA from the compressed activations") {
  auto cfg = test::lora_config({"lin0"});
  cfg->velora_config = Json::object({{"num_groups", 1}, {"scale", 1.0}, {"init_type", "random"}});
  auto model = get_peft_model(test::make_model(kOneLinear), std::move(cfg));
  auto l = lin0_of(*model);
  const Tensor e =
      std::dynamic_pointer_cast<BufferDict>(l->find_child("lora_velora_embed"))->at("default");
  CHECK(norm(e).item<float>() == doctest::Approx(1.0));
  const Tensor x = randn({5, 16});
  const Tensor gout = randn({5, 6});
  model->eval();
  Tensor y_eval;
  {
    NoGradGuard g;
    y_eval = model->forward(x);
  }
  model->train();
  const Tensor y = model->forward(x);
  CHECK(test::max_diff(y, y_eval) < 1e-6);
  sum(y * gout).backward();
  const double s = l->scaling.at("default");
  const Tensor a = l->A_weight("default").detach();
  const Tensor b = l->B_weight("default").detach();
  const Tensor g_after_a = matmul(gout, b) * s;                            // [5, r]
  const Tensor x_rec = matmul(matmul(x, e.unsqueeze(1)), e.unsqueeze(0));  // (x . e) e^T
  CHECK(test::max_diff(l->A_weight("default").grad(), matmul(g_after_a.t(), x_rec)) < 1e-4);
  CHECK(
      test::max_diff(l->B_weight("default").grad(), matmul(gout.t(), matmul(x, a.t())) * s) < 1e-4);
}

TEST_CASE("monteclora perturbs lora_A in training mode and trains its variational parameters") {
  auto cfg = test::lora_config({"lin0"});
  cfg->monteclora_config = Json::object({{"num_samples", 3}, {"sample_scaler", 0.5}});
  auto model = get_peft_model(test::make_model(kOneLinear), std::move(cfg));
  auto l = lin0_of(*model);
  const Tensor x = randn({4, 16});
  model->eval();
  Tensor y_eval;
  {
    NoGradGuard g;
    y_eval = model->forward(x);
  }
  model->train();
  const Tensor y = model->forward(x);
  CHECK(all(isfinite(y)).item<bool>());
  CHECK(test::max_diff(y, y_eval) > 1e-4);
  sum(y).backward();
  auto sampler = l->find_child("lora_monteclora_sampler")->find_child("default");
  CHECK(amax(abs(sampler->get_parameter("std_prior").grad())).item<float>() > 0.0f);
  CHECK(amax(abs(sampler->get_parameter("expert_weights_prior").grad())).item<float>() > 0.0f);
}

TEST_CASE("kasa truncates the base weight to its k - r principal components") {
  auto base = test::make_mlp(2);
  const Tensor w = base->find_child("lin0")->get_parameter("weight").clone();  // [32, 16]
  auto cfg = test::lora_config({"lin0"});
  cfg->kasa_config = Json::object({{"beta", 1e-4}, {"gamma", 1e-3}});
  auto model = get_peft_model(base, std::move(cfg));
  auto l = lin0_of(*model);
  NoGradGuard g;
  const Tensor s = std::get<1>(svd(w));
  const Tensor st = std::get<1>(svd(l->base_weight()));
  CHECK(test::max_diff(st.narrow(0, 0, 12), s.narrow(0, 0, 12)) < 1e-4);
  CHECK(amax(st.narrow(0, 12, 4)).item<float>() < 1e-4);
  CHECK(l->find_child("lora_diag")->find_parameter("default")->shape() == Shape{4});
}

TEST_CASE("bd-lora A is block diagonal") {
  auto cfg = test::lora_config({"lin0"}, 4);
  cfg->use_bdlora = Json::object(
      {{"target_modules_bd_a", Json::array({"lin0"})},
       {"target_modules_bd_b", nullptr},
       {"nblocks", 2},
       {"match_strict", true}});
  auto model = get_peft_model(test::make_model(kOneLinear), std::move(cfg));
  auto l = lin0_of(*model);
  CHECK(l->A_weight("default").shape() == Shape{4, 8});
  NoGradGuard g;
  // input slice 0 only reaches the first two rank components, slice 1 the last two
  Tensor x = zeros({1, 16});
  x.narrow(1, 0, 8).fill_(1.0);
  const Tensor after_a = l->A("default")->forward(x);
  CHECK(amax(abs(after_a.narrow(1, 2, 2))).item<float>() == 0.0f);
  CHECK(amax(abs(after_a.narrow(1, 0, 2))).item<float>() > 0.0f);
}

TEST_CASE("trainable tokens replace the selected rows and merge / unmerge exactly") {
  auto base = test::make_model(R"J({"forward": "out = lin0(emb(X))", "modules": {
      "emb": {"type": "Embedding", "num_embeddings": 10, "embedding_dim": 4},
      "lin0": {"type": "Linear", "in_features": 4, "out_features": 3, "bias": true}}})J");
  const Tensor w = base->find_child("emb")->get_parameter("weight").clone();
  auto cfg = test::lora_config({"lin0"});
  cfg->trainable_token_indices = Json::object({{"emb", Json::array({1, 3})}});
  auto model = get_peft_model(base, std::move(cfg));
  auto wrapper = std::dynamic_pointer_cast<TrainableTokensWrapper>(base->find_child("emb"));
  REQUIRE(wrapper != nullptr);
  NoGradGuard g;
  Tensor& delta = wrapper->token_adapter()->trainable_tokens_delta()->at("default");
  CHECK(test::max_diff(delta, index_select(w, 0, tensor<std::int64_t>({1, 3}, {2}))) == 0.0);
  delta.fill_(7.0);
  const Tensor ids = tensor<std::int64_t>({1, 2, 3}, {1, 3});
  const Tensor e = wrapper->forward(ids);
  CHECK(test::max_diff(e.select(1, 0), full({1, 4}, 7.0)) == 0.0);
  CHECK(test::max_diff(e.select(1, 1), w.narrow(0, 2, 1)) == 0.0);
  auto layer = wrapper->token_adapter();
  layer->merge();
  CHECK(test::max_diff(layer->base_weight().narrow(0, 3, 1), full({1, 4}, 7.0)) == 0.0);
  layer->unmerge();
  CHECK(test::max_diff(layer->base_weight(), w) == 0.0);
}
