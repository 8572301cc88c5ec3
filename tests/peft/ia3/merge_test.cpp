// Merging (IA)^3 vectors into the base weights, unmerging, the disable scope, several adapters,
// deleting and add_weighted_adapter.
#include <doctest/doctest.h>

#include <limits>

#include "autograd/grad_mode.h"
#include "peft/tuners/ia3/model.h"
#include "tests/peft/ia3/ia3_test_util.h"

using namespace peftcpp;

namespace {

struct Case {
  const char* json;
  ModuleNames targets;
  ModuleNames feedforward;
  Tensor x;
};

std::vector<Case> cases() {
  const Tensor ids = tensor<std::int64_t>({1, 5, 7, 19, 0, 3, 3, 12}, {2, 4});
  return {
      {test::kIa3ConvModel,
       {"conv2d", "lin0"},
       ModuleNames(std::vector<std::string>{}),
       randn({2, 3, 5, 5})},
      {test::kIa3ConvModel, {"conv2d", "lin0"}, {"conv2d", "lin0"}, randn({2, 3, 5, 5})},
      {test::kIa3EmbModel, {"conv1d", "lin0"}, ModuleNames(std::vector<std::string>{}), ids},
      {test::kIa3EmbModel, {"conv1d", "lin0"}, {"conv1d"}, ids},
  };
}

}  // namespace

TEST_CASE("merge_and_unload gives the adapted output for every layer type") {
  NoGradGuard g;
  for (Case& c : cases()) {
    auto model =
        get_peft_model(test::make_model(c.json), test::ia3_config(c.targets, c.feedforward));
    model->eval();
    const Tensor adapted = model->forward(c.x);
    nn::ModulePtr merged = model->merge_and_unload();
    CHECK(merged->find_child("lin0")->type_name() == "Linear");
    auto unary = std::dynamic_pointer_cast<nn::UnaryModule>(merged);
    CHECK(test::max_diff(unary->forward(c.x), adapted) < 1e-4);
  }
}

TEST_CASE("merge then unmerge restores the base weights and biases") {
  NoGradGuard g;
  for (Case& c : cases()) {
    auto base = test::make_model(c.json);
    const nn::StateDict before = base->state_dict();
    std::map<std::string, Tensor> copies;
    for (const auto& [k, v] : before) copies[k] = v.clone();
    auto model = get_peft_model(base, test::ia3_config(c.targets, c.feedforward));
    const Tensor adapted = model->forward(c.x);
    model->merge_adapter();
    CHECK(test::max_diff(model->forward(c.x), adapted) < 1e-4);
    model->unmerge_adapter();
    for (const auto& [k, v] : copies) {
      const std::string key = k.substr(0, k.rfind('.'));
      const std::string leaf = k.substr(k.rfind('.') + 1);
      nn::ModulePtr m = model->get_base_model()->get_submodule(key);
      if (auto* l = dynamic_cast<ia3::IA3Layer*>(m.get()))
        m = l->get_base_layer();
      CAPTURE(k);
      CHECK(test::max_diff(m->get_parameter(leaf), v) < 1e-5);
    }
    CHECK(test::max_diff(model->forward(c.x), adapted) < 1e-5);
  }
}

TEST_CASE("merging scales the bias of output-scaled layers only") {
  NoGradGuard g;
  for (bool ff : {false, true}) {
    auto base = test::make_mlp();
    const Tensor b0 = base->find_child("lin0")->get_parameter("bias").clone();
    const Tensor w0 = base->find_child("lin0")->get_parameter("weight").clone();
    auto model = get_peft_model(
        base, ff ? test::ia3_config({"lin0"}, {"lin0"}) : test::ia3_config({"lin0"}));
    const Tensor v = test::ia3_layer(*model, "lin0")->ia3_l().at("default").clone();
    model->merge_adapter();
    const Tensor& b = test::ia3_layer(*model, "lin0")->base_bias();
    const Tensor& w = test::ia3_layer(*model, "lin0")->base_weight();
    if (ff) {
      CHECK(test::max_diff(b, b0) == 0.0);
      CHECK(test::max_diff(w, w0 * v) < 1e-6);  // [1, in] scales the columns
    } else {
      CHECK(test::max_diff(b, b0 * v.flatten()) < 1e-6);
      CHECK(test::max_diff(w, w0 * v) < 1e-6);  // [out, 1] scales the rows
    }
  }
}

TEST_CASE("safe_merge refuses a broken adapter and leaves the weights untouched") {
  NoGradGuard g;
  auto model = get_peft_model(test::make_mlp(), test::ia3_config({"lin0"}));
  auto l = test::ia3_layer(*model, "lin0");
  const Tensor w = l->base_weight().clone();
  l->ia3_l().at("default").fill_(std::numeric_limits<double>::quiet_NaN());
  CHECK_THROWS_WITH_AS(
      model->merge_adapter({}, true), doctest::Contains("NaNs detected"), ValueError);
  CHECK(test::max_diff(l->base_weight(), w) == 0.0);
  CHECK_FALSE(l->merged());
}

TEST_CASE("the disable scope gives the base output, also after merging") {
  NoGradGuard g;
  auto base = test::make_mlp();
  const Tensor x = randn({4, 16});
  const Tensor y_base = base->forward(x);
  auto model = get_peft_model(base, test::ia3_config({"lin0", "lin1"}, {"lin1"}));
  const Tensor y = model->forward(x);
  CHECK(test::max_diff(y, y_base) > 1e-3);
  {
    auto off = model->disable_adapter();
    CHECK(test::max_diff(model->forward(x), y_base) < 1e-6);
  }
  CHECK(test::max_diff(model->forward(x), y) < 1e-6);
  model->merge_adapter();
  {
    auto off = model->disable_adapter();
    CHECK(test::max_diff(model->forward(x), y_base) < 1e-5);  // unmerged on the way
    CHECK_FALSE(test::ia3_layer(*model, "lin0")->merged());
  }
}

TEST_CASE("deleting an adapter removes its vectors and activates another one") {
  auto model = get_peft_model(test::make_mlp(), test::ia3_config({"lin0"}));
  model->add_adapter("b", test::ia3_config({"lin0"}));
  model->delete_adapter("default");
  auto l = test::ia3_layer(*model, "lin0");
  CHECK(l->ia3_l().keys() == std::vector<std::string>{"b"});
  CHECK(model->active_adapters() == AdapterNames{"b"});
  CHECK_THROWS_AS(model->delete_adapter("default"), ValueError);
}

TEST_CASE("add_weighted_adapter sums the weighted vectors into a frozen new adapter") {
  NoGradGuard g;
  auto model = get_peft_model(test::make_mlp(), test::ia3_config({"lin0"}));
  model->add_adapter("b", test::ia3_config({"lin0", "lin1"}, {"lin1"}));
  auto& tuner = dynamic_cast<ia3::IA3Model&>(model->base_model());
  tuner.add_weighted_adapter({"default", "b"}, {0.5, 2.0}, "mix");
  const auto& cfg = model->peft_config("mix").as<IA3Config>();
  CHECK(cfg.target_modules.names() == std::vector<std::string>{"lin0", "lin1"});
  CHECK(cfg.feedforward_modules.names() == std::vector<std::string>{"lin1"});
  auto l0 = test::ia3_layer(*model, "lin0");
  auto l1 = test::ia3_layer(*model, "lin1");
  const Tensor want0 = l0->ia3_l().at("default") * 0.5 + l0->ia3_l().at("b") * 2.0;
  CHECK(test::max_diff(l0->ia3_l().at("mix"), want0) < 1e-6);
  CHECK(test::max_diff(l1->ia3_l().at("mix"), l1->ia3_l().at("b") * 2.0) < 1e-6);
  CHECK_FALSE(l0->ia3_l().at("mix").requires_grad());
  CHECK(model->active_adapters() == AdapterNames{"default"});
  CHECK_THROWS_WITH_AS(
      tuner.add_weighted_adapter({"default", "nope"}, {1, 1}, "x"),
      doctest::Contains("nope does not exist"),
      ValueError);
  model->add_adapter("regex", test::ia3_config("lin0"));
  CHECK_THROWS_WITH_AS(
      tuner.add_weighted_adapter({"default", "regex"}, {1, 1}, "y"),
      doctest::Contains("same type"),
      ValueError);
}
