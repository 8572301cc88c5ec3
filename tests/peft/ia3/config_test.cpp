// IA3Config defaults and validation, per-architecture defaults and feed-forward matching.
#include <doctest/doctest.h>

#include "peft/tuners/ia3/model.h"
#include "tests/peft/ia3/ia3_test_util.h"

using namespace peftcpp;

TEST_CASE("IA3Config defaults are PEFT's") {
  const IA3Config c;
  CHECK(c.peft_type() == PeftType::IA3);
  CHECK(c.target_modules.is_none());
  CHECK(c.exclude_modules.is_none());
  CHECK(c.feedforward_modules.is_none());
  CHECK_FALSE(c.fan_in_fan_out);
  CHECK_FALSE(c.modules_to_save.has_value());
  CHECK(c.init_ia3_weights);
}

TEST_CASE("feedforward_modules must be a subset of target_modules") {
  auto cfg = test::ia3_config({"lin0"}, {"lin1"});
  CHECK_THROWS_WITH_AS(
      get_peft_model(test::make_mlp(), std::move(cfg)),
      doctest::Contains("must be a subset of target_modules"),
      ConfigError);
  // a regex on either side is not checked (PEFT checks sets only)
  CHECK_NOTHROW(get_peft_model(test::make_mlp(), test::ia3_config("lin0", {"lin1"})));
}

TEST_CASE("custom models must name target_modules and feedforward_modules") {
  auto none = std::make_unique<IA3Config>();
  CHECK_THROWS_WITH_AS(
      get_peft_model(test::make_mlp(), std::move(none)),
      doctest::Contains("Please specify `target_modules`"),
      ValueError);
  auto no_ff = std::make_unique<IA3Config>();
  no_ff->target_modules = {"lin0"};
  CHECK_THROWS_WITH_AS(
      get_peft_model(test::make_mlp(), std::move(no_ff)),
      doctest::Contains("Please specify `feedforward_modules`"),
      ValueError);
}

TEST_CASE("per-architecture defaults follow PEFT's mappings") {
  CHECK(
      *ia3::default_ia3_target_modules("llama") ==
      std::vector<std::string>{"k_proj", "v_proj", "down_proj"});
  CHECK(*ia3::default_ia3_feedforward_modules("llama") == std::vector<std::string>{"down_proj"});
  CHECK(*ia3::default_ia3_target_modules("t5") == std::vector<std::string>{"k", "v", "wo"});
  CHECK(*ia3::default_ia3_feedforward_modules("gpt2") == std::vector<std::string>{"mlp.c_proj"});
  CHECK(ia3::default_ia3_feedforward_modules("mt5")->empty());
  CHECK_FALSE(ia3::default_ia3_target_modules("custom").has_value());
}

TEST_CASE("feed-forward matching: regex full match, or a plain name suffix") {
  IA3Config c;
  c.feedforward_modules = {"lin1"};
  CHECK(ia3::is_feedforward_module(c, "lin1"));
  CHECK(ia3::is_feedforward_module(c, "block.lin1"));
  CHECK(ia3::is_feedforward_module(c, "xlin1"));  // PEFT's endswith has no '.' boundary
  CHECK_FALSE(ia3::is_feedforward_module(c, "lin0"));
  c.feedforward_modules = "lin1";
  CHECK(ia3::is_feedforward_module(c, "lin1"));
  CHECK_FALSE(ia3::is_feedforward_module(c, "block.lin1"));
  c.feedforward_modules = ".*\\.mlp\\..*";
  CHECK(ia3::is_feedforward_module(c, "h.0.mlp.c_proj"));
}

TEST_CASE("only Linear, Conv1D and Conv2d can be targeted") {
  auto model = test::make_model(test::kIa3EmbModel);
  CHECK_THROWS_WITH_AS(
      get_peft_model(model, test::ia3_config({"emb"})),
      doctest::Contains("is not supported"),
      ValueError);
  // the model got its own layers back
  CHECK(model->find_child("emb")->type_name() == "Embedding");
}

TEST_CASE("fan_in_fan_out follows the layer type, as PEFT corrects it") {
  auto cfg = test::ia3_config({"conv1d"});
  auto model = get_peft_model(test::make_model(test::kIa3EmbModel), std::move(cfg));
  CHECK(model->peft_config("default").as<IA3Config>().fan_in_fan_out);
  auto l = test::ia3_layer(*model, "conv1d");
  CHECK(l->fan_in_fan_out);
  CHECK(dynamic_cast<ia3::Linear&>(*l).is_target_conv_1d_layer);
  auto cfg2 = test::ia3_config({"lin0"});
  cfg2->fan_in_fan_out = true;
  auto m2 = get_peft_model(test::make_mlp(), std::move(cfg2));
  CHECK_FALSE(m2->peft_config("default").as<IA3Config>().fan_in_fan_out);
}
