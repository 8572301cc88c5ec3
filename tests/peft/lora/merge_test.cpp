// Merging, disabling, scaling and mixed-adapter batches of LoRA models.
#include <doctest/doctest.h>

#include <limits>

#include "autograd/grad_mode.h"
#include "peft/tuners/lora/layer.h"
#include "tests/peft/peft_test_util.h"

using namespace peftcpp;

namespace {

const char* kConvModel = R"J({"forward": "out = lin0(flatten(relu(conv2d(X))))", "modules": {
    "conv2d": {"type": "Conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": [3, 3],
               "stride": [1, 1], "padding": [1, 1], "groups": 1, "bias": true},
    "relu": {"type": "ReLU"},
    "lin0": {"type": "Linear", "in_features": 100, "out_features": 5, "bias": true}}})J";

const char* kEmbModel = R"J({"forward": "out = lin0(relu(conv1d(emb(X))))", "modules": {
    "emb": {"type": "Embedding", "num_embeddings": 20, "embedding_dim": 6},
    "conv1d": {"type": "transformers.Conv1D", "in_features": 6, "out_features": 8},
    "relu": {"type": "ReLU"},
    "lin0": {"type": "Linear", "in_features": 8, "out_features": 3, "bias": true}}})J";

Tensor ids() {
  return tensor<std::int64_t>({1, 5, 7, 19, 0, 3, 3, 12}, {2, 4});
}

}  // namespace

TEST_CASE("merge_and_unload gives the adapted output for every layer type") {
  NoGradGuard g;
  struct Case {
    const char* json;
    ModuleNames targets;
    Tensor x;
  };
  std::vector<Case> cases = {
      {kConvModel, {"conv2d", "lin0"}, randn({2, 3, 5, 5})},
      {kEmbModel, {"emb", "conv1d", "lin0"}, ids()},
  };
  for (bool dora : {false, true}) {
    for (Case& c : cases) {
      auto cfg = test::lora_config(c.targets);
      cfg->use_dora = dora;
      cfg->lora_bias = false;
      auto model = get_peft_model(test::make_model(c.json), std::move(cfg));
      model->eval();
      const Tensor adapted = model->forward(c.x);
      nn::ModulePtr merged = model->merge_and_unload();
      CHECK(merged->find_child("lin0")->type_name() == "Linear");
      CHECK(
          test::max_diff(
              std::dynamic_pointer_cast<nn::UnaryModule>(merged)->forward(c.x), adapted) < 1e-4);
    }
  }
}

TEST_CASE("merge then unmerge restores the base weights") {
  NoGradGuard g;
  for (bool dora : {false, true}) {
    auto cfg = test::lora_config({"lin0", "lin1"});
    cfg->use_dora = dora;
    auto base = test::make_mlp();
    const Tensor w0 = base->find_child("lin0")->get_parameter("weight").clone();
    auto model = get_peft_model(base, std::move(cfg));
    model->eval();
    const Tensor x = randn({4, 16});
    const Tensor adapted = model->forward(x);
    model->merge_adapter();
    auto l0 = model->get_base_model()->get_submodule_as<lora::LoraLayer>("lin0");
    CHECK(l0->merged());
    CHECK(test::max_diff(l0->base_weight(), w0) > 1e-3);
    CHECK(test::max_diff(model->forward(x), adapted) < 1e-5);
    model->unmerge_adapter();
    CHECK_FALSE(l0->merged());
    CHECK(test::max_diff(l0->base_weight(), w0) < 1e-5);
    CHECK(test::max_diff(model->forward(x), adapted) < 1e-5);
  }
}

TEST_CASE("safe_merge refuses a broken adapter and leaves the weights untouched") {
  NoGradGuard g;
  auto model = get_peft_model(test::make_mlp(), test::lora_config({"lin0"}));
  auto l0 = model->get_base_model()->get_submodule_as<lora::LoraLayer>("lin0");
  const Tensor w = l0->base_weight().clone();
  l0->A_weight("default").fill_(std::numeric_limits<double>::quiet_NaN());
  CHECK_THROWS_WITH_AS(
      model->merge_adapter({}, true), doctest::Contains("NaNs detected"), ValueError);
  CHECK(test::max_diff(l0->base_weight(), w) == 0.0);
  CHECK_FALSE(l0->merged());
}

TEST_CASE("the disable scope gives the base output and restores the adapter") {
  NoGradGuard g;
  auto base = test::make_mlp();
  const Tensor x = randn({4, 16});
  const Tensor y_base = base->forward(x);
  auto model = get_peft_model(base, test::lora_config({"lin0", "lin1"}));
  const Tensor y_adapted = model->forward(x);
  CHECK(test::max_diff(y_adapted, y_base) > 1e-3);
  {
    auto off = model->disable_adapter();
    CHECK(test::max_diff(model->forward(x), y_base) < 1e-6);
  }
  CHECK(test::max_diff(model->forward(x), y_adapted) < 1e-6);
}

TEST_CASE("rescale scope multiplies the LoRA update and set_scale rescales one adapter") {
  NoGradGuard g;
  auto base = test::make_mlp();
  const Tensor x = randn({4, 16});
  auto model = get_peft_model(base, test::lora_config({"lin1"}));
  auto l1 = model->get_base_model()->get_submodule_as<lora::LoraLayer>("lin1");
  Tensor y_base;
  {
    auto off = model->disable_adapter();
    y_base = model->forward(x);
  }
  const Tensor delta =
      model->forward(x) - y_base;  // lin1 is the last layer: output is linear in the update
  {
    auto scope = model->rescale_adapter_scale(0.5);
    CHECK(l1->scaling.at("default") == doctest::Approx(1.0));
    CHECK(test::max_diff(model->forward(x) - y_base, delta * 0.5) < 1e-5);
  }
  CHECK(l1->scaling.at("default") == doctest::Approx(2.0));
  model->set_scale("default", 3.0);
  CHECK(l1->scaling.at("default") == doctest::Approx(6.0));
  CHECK(test::max_diff(model->forward(x) - y_base, delta * 3.0) < 1e-5);
}

TEST_CASE("two active adapters add their updates") {
  NoGradGuard g;
  const Tensor x = randn({4, 16});
  auto model = get_peft_model(test::make_mlp(), test::lora_config({"lin1"}));
  model->add_adapter("b", test::lora_config({"lin1"}));
  Tensor base, ya, yb;
  {
    auto off = model->disable_adapter();
    base = model->forward(x);
  }
  ya = model->forward(x);
  model->set_adapter("b");
  yb = model->forward(x);
  model->set_adapters({"default", "b"});
  CHECK(test::max_diff(model->forward(x), ya + yb - base) < 1e-5);
}

TEST_CASE("a mixed-adapter batch equals per-sample runs") {
  NoGradGuard g;
  for (const char* json : {kEmbModel, kConvModel}) {
    const bool emb = json == kEmbModel;
    const Tensor x = emb ? tensor<std::int64_t>({1, 5, 7, 19, 0, 3, 3, 12, 4, 4, 8, 9}, {3, 4})
                         : randn({3, 3, 5, 5});
    const ModuleNames targets =
        emb ? ModuleNames{"emb", "conv1d", "lin0"} : ModuleNames{"conv2d", "lin0"};
    auto model = get_peft_model(test::make_model(json), test::lora_config(targets));
    model->add_adapter("other", test::lora_config(targets, 2));
    model->eval();
    const AdapterNames names = {"other", "__base__", "default"};
    const Tensor mixed = model->forward(x, names);
    for (std::int64_t i = 0; i < 3; ++i) {
      const Tensor xi = x.narrow(0, i, 1);
      Tensor yi;
      if (names[static_cast<std::size_t>(i)] == "__base__") {
        auto off = model->disable_adapter();
        yi = model->forward(xi);
      } else {
        model->set_adapter(names[static_cast<std::size_t>(i)]);
        yi = model->forward(xi);
      }
      CHECK(test::max_diff(mixed.narrow(0, i, 1), yi) < 1e-5);
    }
    CHECK_THROWS_WITH_AS(
        model->forward(x, {"default", "nope", "default"}),
        doctest::Contains("non-existing adapter"),
        ValueError);
    model->train();
    CHECK_THROWS_WITH_AS(model->forward(x, names), doctest::Contains("training mode"), ValueError);
  }
}
