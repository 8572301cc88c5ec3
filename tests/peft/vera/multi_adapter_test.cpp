// Several VeRA adapters: shared projections, PEFT's compatibility checks, activation, deletion.
#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "tests/peft/vera/vera_test_util.h"

using namespace peftcpp;

TEST_CASE("a second adapter shares the projections of the first") {
  auto model = get_peft_model(test::make_mlp(), test::vera_config({"lin0", "lin1"}, 4));
  model->add_adapter("b", test::vera_config({"lin1"}, 4));
  auto& t = test::vera_tuner(*model);
  CHECK(t.vera_A()->keys() == std::vector<std::string>{"default", "b"});
  // the same tensor: writing one writes the other (as PEFT's BufferDict entries)
  CHECK(t.vera_A()->at("b").data_ptr<float>() == t.vera_A()->at("default").data_ptr<float>());
  auto l1 = test::vera_layer(*model, "lin1");
  CHECK(l1->vera_lambda_d().at("b").shape() == Shape{4});
  CHECK_FALSE(l1->vera_lambda_d().at("b").requires_grad());
}

TEST_CASE("two active adapters add their updates") {
  NoGradGuard g;
  const Tensor x = randn({4, 16});
  auto model = get_peft_model(test::make_mlp(), test::vera_config({"lin1"}));
  model->add_adapter("b", test::vera_config({"lin1"}));
  Tensor base;
  {
    auto off = model->disable_adapter();
    base = model->forward(x);
  }
  const Tensor ya = model->forward(x);
  model->set_adapter("b");
  const Tensor yb = model->forward(x);
  model->set_adapters({"default", "b"});
  CHECK(test::max_diff(model->forward(x), ya + yb - base) < 1e-5);
}

TEST_CASE("adapters must agree on the PRNG key and on save_projection") {
  auto model = get_peft_model(test::make_mlp(), test::vera_config({"lin0"}));
  auto key = test::vera_config({"lin0"});
  key->projection_prng_key = 1;
  CHECK_THROWS_WITH_AS(
      model->add_adapter("k", std::move(key)),
      doctest::Contains("PRNG initialisation key"),
      ValueError);
  auto save = test::vera_config({"lin0"});
  save->save_projection = false;
  CHECK_THROWS_WITH_AS(
      model->add_adapter("s", std::move(save)),
      doctest::Contains("saved for all adapters"),
      ValueError);
  CHECK(model->base_model().adapter_names() == std::vector<std::string>{"default"});
}

TEST_CASE("a later adapter cannot need larger projections than the first") {
  auto model =
      get_peft_model(test::make_mlp(), test::vera_config({"lin1"}, 4));  // A [4, 32], B [8, 4]
  CHECK_THROWS_WITH_AS(
      model->add_adapter("big", test::vera_config({"lin1"}, 8)),
      doctest::Contains("vera_A has a size of 4 but 8 or greater is required"),
      ValueError);
  CHECK_THROWS_WITH_AS(
      model->add_adapter("wide", test::vera_config({"lin0"}, 4)),
      doctest::Contains("vera_B has a size of 8 but 32 or greater"),
      ValueError);
  // failed adapters leave nothing behind
  CHECK(test::vera_tuner(*model).vera_A()->keys() == std::vector<std::string>{"default"});
  CHECK(model->get_base_model()->find_child("lin0")->type_name() == "Linear");
  model->add_adapter("ok", test::vera_config({"lin1"}, 4));
  CHECK(test::vera_tuner(*model).vera_A()->keys() == std::vector<std::string>{"default", "ok"});
}

TEST_CASE("deleting an adapter removes its lambdas and projection entries") {
  auto model = get_peft_model(test::make_mlp(), test::vera_config({"lin0"}));
  model->add_adapter("b", test::vera_config({"lin0"}));
  model->delete_adapter("default");
  auto l = test::vera_layer(*model, "lin0");
  CHECK(l->vera_lambda_d().keys() == std::vector<std::string>{"b"});
  CHECK(test::vera_tuner(*model).vera_A()->keys() == std::vector<std::string>{"b"});
  CHECK(model->active_adapters() == AdapterNames{"b"});
  CHECK(model->state_dict().count("base_model.vera_A.default") == 0);
  CHECK(model->state_dict().count("base_model.vera_A.b") == 1);
}
