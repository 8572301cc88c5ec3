// Target matching rules of PEFT's check_target_module_exists / all-linear / get_pattern_key,
// one TEST_CASE per rule (peft/tuners/target_matching.h).
#include "peft/tuners/target_matching.h"

#include <doctest/doctest.h>

#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "tests/peft/peft_test_util.h"

using namespace peftcpp;

namespace {

struct Fields {
  ModuleNames targets;
  ModuleNames exclude;
  std::optional<std::vector<std::string>> to_save;
  std::optional<std::vector<std::string>> params;
  LayerIndices layers;
  ModuleNames pattern;
  TargetFields get() {
    TargetFields f;
    f.target_modules = &targets;
    f.exclude_modules = &exclude;
    f.modules_to_save = &to_save;
    f.target_parameters = &params;
    f.layers_to_transform = &layers;
    f.layers_pattern = &pattern;
    return f;
  }
  TargetMatch operator()(const std::string& key) {
    return check_target_module_exists(get(), key);
  }
};

}  // namespace

TEST_CASE("target list matches an exact name") {
  Fields f;
  f.targets = {"lin0"};
  CHECK(f("lin0") == TargetMatch::Match);
  CHECK(f("lin1") == TargetMatch::NoMatch);
}

TEST_CASE("target list matches a dotted suffix but not a partial component") {
  Fields f;
  f.targets = {"q_proj"};
  CHECK(f("model.layers.0.self_attn.q_proj") == TargetMatch::Match);
  CHECK(f("model.layers.0.self_attn.xq_proj") == TargetMatch::NoMatch);
  CHECK(f("model.layers.0.self_attn.q_proj.lora_A") == TargetMatch::NoMatch);
  f.targets = {"self_attn.q_proj"};
  CHECK(f("model.layers.0.self_attn.q_proj") == TargetMatch::Match);
}

TEST_CASE("target string is a regex that must match the whole name") {
  Fields f;
  f.targets = ".*q_proj";
  CHECK(f("model.layers.0.self_attn.q_proj") == TargetMatch::Match);
  f.targets = "q_proj";
  CHECK(f("model.layers.0.self_attn.q_proj") == TargetMatch::NoMatch);
  f.targets = R"(.*\.(q|v)_proj)";
  CHECK(f("a.v_proj") == TargetMatch::Match);
  CHECK(f("a.k_proj") == TargetMatch::NoMatch);
  // Python regex syntax (named group) is understood
  f.targets = R"((?P<blk>.*)\.lin0)";
  CHECK(f("block.lin0") == TargetMatch::Match);
}

TEST_CASE("exclude list removes exact names and dotted suffixes") {
  Fields f;
  f.targets = {"lin0", "lin1"};
  f.exclude = {"lin1"};
  CHECK(f("block.lin1") == TargetMatch::Excluded);
  CHECK(f("lin1") == TargetMatch::Excluded);
  CHECK(f("block.lin0") == TargetMatch::Match);
  CHECK(f("block.xlin1") == TargetMatch::NoMatch);
}

TEST_CASE("exclude string is a full-match regex") {
  Fields f;
  f.targets = {"lin0"};
  f.exclude = R"(layers\.1\..*)";
  CHECK(f("layers.1.lin0") == TargetMatch::Excluded);
  CHECK(f("layers.0.lin0") == TargetMatch::Match);
}

TEST_CASE("modules_to_save are never targets") {
  Fields f;
  f.targets = {"classifier", "lin0"};
  f.to_save = std::vector<std::string>{"classifier"};
  CHECK(f("classifier") == TargetMatch::Excluded);
  CHECK(f("head.classifier") == TargetMatch::Excluded);
  CHECK(f("head.classifier.dense") == TargetMatch::Excluded);
  CHECK(f("lin0") == TargetMatch::Match);
}

TEST_CASE("target_parameters without target_modules targets no module") {
  Fields f;
  f.params = std::vector<std::string>{"lin1.weight"};
  CHECK(f("lin1") == TargetMatch::NoMatch);
}

TEST_CASE("layers_to_transform keeps only the listed layer indices") {
  Fields f;
  f.targets = {"q_proj"};
  f.layers = LayerIndices({1});
  CHECK(f("model.layers.1.self_attn.q_proj") == TargetMatch::Match);
  CHECK(f("model.layers.0.self_attn.q_proj") == TargetMatch::NoMatch);
  f.layers = LayerIndices(0);  // a scalar
  CHECK(f("model.layers.0.self_attn.q_proj") == TargetMatch::Match);
  // an exact name bypasses the layer filter, as in PEFT
  f.targets = {"model.layers.1.self_attn.q_proj"};
  CHECK(f("model.layers.1.self_attn.q_proj") == TargetMatch::Match);
}

TEST_CASE("layers_pattern picks the number after the named component") {
  Fields f;
  f.targets = {"w"};
  f.layers = LayerIndices({2});
  f.pattern = {"blocks"};
  CHECK(f("enc.layers.0.blocks.2.w") == TargetMatch::Match);
  CHECK(f("enc.layers.2.blocks.0.w") == TargetMatch::NoMatch);
  // without a pattern the first numbered component counts (not a nested expert index)
  f.pattern = ModuleNames();
  CHECK(f("model.layers.2.experts.0.w") == TargetMatch::Match);
  CHECK(f("model.layers.0.experts.2.w") == TargetMatch::NoMatch);
}

TEST_CASE("all-linear expands to every Linear and Conv1D of a custom model") {
  auto model = test::make_model(R"J({"forward": "out = lin0(relu(conv1d(emb(X))))", "modules": {
      "emb": {"type": "Embedding", "num_embeddings": 10, "embedding_dim": 4},
      "conv1d": {"type": "transformers.Conv1D", "in_features": 4, "out_features": 6},
      "relu": {"type": "ReLU"},
      "lin0": {"type": "Linear", "in_features": 6, "out_features": 3, "bias": true}}})J");
  Fields f;
  f.targets = "ALL-LINEAR";
  TargetFields tf = f.get();
  expand_all_linear(tf, *model, false);
  REQUIRE(f.targets.is_list());
  // custom models keep their last linear layer, as in PEFT (only transformers' output layer is
  // dropped)
  CHECK(f.targets.names() == std::vector<std::string>{"conv1d", "lin0"});
}

TEST_CASE("get_pattern_key matches a pattern at the end of the name") {
  CHECK(get_pattern_key({"lin1"}, "block.lin1") == "lin1");
  CHECK(get_pattern_key({"lin1"}, "block.lin10") == "block.lin10");
  CHECK(
      get_pattern_key({"layers\\.0\\..*proj", "q_proj"}, "layers.0.q_proj") ==
      "layers\\.0\\..*proj");
  CHECK(get_pattern_key({}, "x") == "x");
}

TEST_CASE("injection fails listing the candidate modules when nothing matches") {
  auto model = test::make_mlp();
  try {
    get_peft_model(model, test::lora_config({"nope"}));
    FAIL("expected an error");
  } catch (const ValueError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("Target modules {'nope'} not found") != std::string::npos);
    CHECK(msg.find("lin0, lin1") != std::string::npos);
  }
  // the model is untouched
  CHECK(model->find_child("lin0")->type_name() == "Linear");
}

TEST_CASE("injection fails when every match is excluded") {
  auto model = test::make_mlp();
  auto cfg = test::lora_config({"lin0"});
  cfg->exclude_modules = ".*";
  CHECK_THROWS_WITH_AS(
      get_peft_model(model, std::move(cfg)),
      doctest::Contains("All modules were excluded"),
      ValueError);
}

TEST_CASE("long target lists are condensed to distinguishing suffixes") {
  std::vector<std::string> targets, others;
  for (int i = 0; i < 12; ++i) {
    targets.push_back("model.decoder.layers." + std::to_string(i) + ".self_attn.q_proj");
    targets.push_back("model.decoder.layers." + std::to_string(i) + ".self_attn.v_proj");
    others.push_back("model.encoder.layers." + std::to_string(i) + ".self_attn.k_proj");
  }
  CHECK(
      find_minimal_target_modules(targets, others) == std::vector<std::string>{"q_proj", "v_proj"});
  // a suffix shared with another module is not enough
  others.push_back("model.encoder.q_proj");
  const auto m = find_minimal_target_modules(targets, others);
  CHECK(std::find(m.begin(), m.end(), "q_proj") == m.end());
  CHECK(std::find(m.begin(), m.end(), "self_attn.q_proj") != m.end());
}
