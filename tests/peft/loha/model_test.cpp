// LoHaModel: config defaults and validation, merge / unmerge / merge_and_unload / unload,
// several adapters, the disable scope, rank / alpha patterns, trainable set and unsupported
// targets.
#include "peft/tuners/loha/model.h"

#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "nn/layers/linear.h"
#include "tests/peft/lycoris/lycoris_test_util.h"

using namespace peftcpp;

namespace {

std::shared_ptr<loha::LoHaLayer> layer_of(PeftModel& model, const std::string& name) {
  auto l = model.get_base_model()->get_submodule_as<loha::LoHaLayer>(name);
  REQUIRE(l != nullptr);
  return l;
}

std::string config_error(const std::string& fields) {
  try {
    peft_config_from_json(Json::parse("{\"peft_type\": \"LOHA\", " + fields + "}"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("LoHaConfig has PEFT's defaults and rejects invalid values naming the key") {
  const LoHaConfig c;
  CHECK(c.r == 8);
  CHECK(c.alpha == 8);
  CHECK(c.rank_dropout == 0.0);
  CHECK(c.module_dropout == 0.0);
  CHECK_FALSE(c.use_effective_conv2d);
  CHECK(c.init_weights);
  CHECK(c.target_modules.is_none());
  CHECK(config_error("\"r\": 0").find("LoHaConfig.r") != std::string::npos);
  CHECK(config_error("\"rank_dropout\": 1.5").find("LoHaConfig.rank_dropout") != std::string::npos);
  CHECK(
      config_error("\"layers_pattern\": \"layers\"").find("layers_to_transform") !=
      std::string::npos);
  CHECK(config_error("\"r\": 4") == "no error");
}

TEST_CASE("loha merge then unmerge restores the base weights; merged output matches") {
  for (bool safe : {false, true}) {
    CAPTURE(safe);
    auto cfg = test::lycoris_config<LoHaConfig>({"lin0", "lin1"}, 4);
    auto model = get_peft_model(test::make_mlp(1), std::move(cfg));
    model->eval();
    NoGradGuard g;
    const Tensor x = randn({3, 16});
    const Tensor y = model->forward(x);
    auto l0 = layer_of(*model, "lin0");
    const Tensor w0 = l0->base_weight().clone();
    const Tensor d0 = l0->get_delta_weight("default");
    model->merge_adapter(std::nullopt, safe);
    CHECK(l0->merged());
    CHECK(test::max_diff(l0->base_weight(), w0 + d0) < 1e-6);
    CHECK(test::max_diff(model->forward(x), y) < 1e-5);
    model->unmerge_adapter();
    CHECK_FALSE(l0->merged());
    CHECK(test::max_diff(l0->base_weight(), w0) < 1e-6);
    CHECK(test::max_diff(model->forward(x), y) < 1e-5);
  }
}

TEST_CASE("loha merge_and_unload returns plain layers with merged weights; unload does not merge") {
  auto model = get_peft_model(test::make_mlp(1), test::lycoris_config<LoHaConfig>({"lin0"}));
  model->eval();
  NoGradGuard g;
  const Tensor x = randn({3, 16});
  const Tensor y = model->forward(x);
  auto l0 = layer_of(*model, "lin0");
  const Tensor want = l0->base_weight() + l0->get_delta_weight("default");
  nn::ModulePtr merged = model->merge_and_unload();
  auto lin0 = std::dynamic_pointer_cast<nn::Linear>(merged->find_child("lin0"));
  REQUIRE(lin0 != nullptr);
  CHECK(test::max_diff(lin0->weight, want) < 1e-6);
  CHECK(test::max_diff(std::dynamic_pointer_cast<nn::UnaryModule>(merged)->forward(x), y) < 1e-5);

  auto base = test::make_mlp(1);
  const Tensor w = std::dynamic_pointer_cast<nn::Linear>(base->find_child("lin0"))->weight.clone();
  auto again = get_peft_model(base, test::lycoris_config<LoHaConfig>({"lin0"}));
  nn::ModulePtr plain = again->unload();
  auto lin = std::dynamic_pointer_cast<nn::Linear>(plain->find_child("lin0"));
  REQUIRE(lin != nullptr);
  CHECK(test::max_diff(lin->weight, w) == 0.0);
}

TEST_CASE("loha adapters can be added, switched, combined and deleted") {
  auto base = test::make_mlp(2);
  const Tensor x = randn({3, 16});
  const Tensor y0 = base->forward(x);
  auto model = get_peft_model(base, test::lycoris_config<LoHaConfig>({"lin0"}, 4));
  model->add_adapter("second", test::lycoris_config<LoHaConfig>({"lin0"}, 2));
  model->eval();
  auto l = layer_of(*model, "lin0");
  NoGradGuard g;
  const Tensor d1 = l->get_delta_weight("default"), d2 = l->get_delta_weight("second");
  const Tensor y1 = model->forward(x);
  model->set_adapter("second");
  const Tensor y2 = model->forward(x);
  CHECK(test::max_diff(y1, y2) > 1e-4);
  // lin1(relu(lin0(x))) with lin0's weight W + d
  auto with_delta = [&](const Tensor& d) {
    auto m = test::make_mlp(2);
    auto lin0 = std::dynamic_pointer_cast<nn::Linear>(m->find_child("lin0"));
    lin0->weight = lin0->weight + d;
    return m->forward(x);
  };
  CHECK(test::max_diff(y1, with_delta(d1)) < 1e-5);
  CHECK(test::max_diff(y2, with_delta(d2)) < 1e-5);
  model->set_adapters({"default", "second"});
  CHECK(test::max_diff(model->forward(x), with_delta(d1 + d2)) < 1e-5);
  model->set_adapter("default");
  model->delete_adapter("second");
  CHECK_FALSE(l->params("hada_w1_a").contains("second"));
  CHECK(l->r.count("second") == 0);
  CHECK(test::max_diff(model->forward(x), y1) == 0.0);
  CHECK(test::max_diff(y0, y1) > 1e-4);
}

TEST_CASE("loha disable scope gives the base output and re-enables on exit") {
  auto base = test::make_mlp(3);
  const Tensor x = randn({2, 16});
  const Tensor y0 = base->forward(x);
  auto model = get_peft_model(base, test::lycoris_config<LoHaConfig>({"lin0", "lin1"}));
  model->eval();
  const Tensor y = model->forward(x);
  {
    auto scope = model->disable_adapter();
    CHECK(test::max_diff(model->forward(x), y0) == 0.0);
  }
  CHECK(test::max_diff(model->forward(x), y) == 0.0);
}

TEST_CASE("loha trains only the active adapter's hada tensors") {
  auto model = get_peft_model(test::make_mlp(0), test::lycoris_config<LoHaConfig>({"lin0"}));
  model->add_adapter("other", test::lycoris_config<LoHaConfig>({"lin1"}));
  std::set<std::string> trainable;
  for (const auto& [n, p] : model->named_parameters()) {
    if (p.requires_grad())
      trainable.insert(n);
  }
  const std::string pre = "base_model.model.lin0.";
  CHECK(
      trainable == std::set<std::string>{
                       pre + "hada_w1_a.default",
                       pre + "hada_w1_b.default",
                       pre + "hada_w2_a.default",
                       pre + "hada_w2_b.default"});
}

TEST_CASE("loha rank_pattern and alpha_pattern override r and alpha per module") {
  auto cfg = test::lycoris_config<LoHaConfig>({"lin0", "lin1"}, 4, 8);
  cfg->rank_pattern = Json::parse(R"({"lin1": 2})");
  cfg->alpha_pattern = Json::parse(R"({"lin1": 3})");
  auto model = get_peft_model(test::make_mlp(0), std::move(cfg));
  auto l0 = layer_of(*model, "lin0"), l1 = layer_of(*model, "lin1");
  CHECK(l0->r.at("default") == 4);
  CHECK(l0->scaling.at("default") == 2.0);
  CHECK(l1->r.at("default") == 2);
  CHECK(l1->scaling.at("default") == 1.5);
  CHECK(l1->params("hada_w1_a").at("default").shape() == Shape{8, 2});
}

TEST_CASE("loha rejects layer types PEFT does not support and leaves the model unchanged") {
  for (const char* spec :
       {R"({"type": "Embedding", "num_embeddings": 5, "embedding_dim": 3})",
        R"({"type": "transformers.Conv1D", "in_features": 3, "out_features": 4})"}) {
    CAPTURE(spec);
    auto base = test::one_layer(spec);
    const nn::ModulePtr before = base->find_child("m");
    CHECK_THROWS_WITH_AS(
        get_peft_model(base, test::lycoris_config<LoHaConfig>({"m"})),
        doctest::Contains("only adapters for Conv2d, Conv1d, Linear"),
        ValueError);
    CHECK(base->find_child("m") == before);
  }
}

TEST_CASE("loha has no mixed-adapter batches (adapter_names is LoRA's)") {
  auto model = get_peft_model(test::make_mlp(0), test::lycoris_config<LoHaConfig>({"lin0"}));
  model->eval();
  CHECK_THROWS_WITH_AS(
      model->forward(randn({2, 16}), AdapterNames{"default", "__base__"}),
      doctest::Contains("only supported by LoRA"),
      ValueError);
}
