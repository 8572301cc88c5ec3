// LoHa's core math against hand-computed values: the Hadamard delta weight, flattened and
// CP-rebuilt (effective) conv kernels, parameter shapes per layer type, the initialisations,
// rank / module dropout and scaling.
#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "nn/functional.h"
#include "peft/tuners/loha/layer.h"
#include "tests/peft/lycoris/lycoris_test_util.h"

using namespace peftcpp;

namespace {

std::shared_ptr<loha::LoHaLayer> layer_of(PeftModel& model, const std::string& name = "m") {
  auto l = model.get_base_model()->get_submodule_as<loha::LoHaLayer>(name);
  REQUIRE(l != nullptr);
  return l;
}

Tensor f32(const std::vector<float>& v, Shape s) {
  return tensor<float>(v, std::move(s));
}

}  // namespace

TEST_CASE("loha Linear delta is the scaled Hadamard product of two low-rank products") {
  auto cfg = test::lycoris_config<LoHaConfig>({"m"}, 2, 6);  // scaling 6 / 2 = 3
  auto model = get_peft_model(test::one_layer(test::linear_spec(3, 2)), std::move(cfg));
  model->eval();
  auto l = layer_of(*model);
  l->params("hada_w1_a").at("default") = f32({1, 2, 3, 4}, {2, 2});
  l->params("hada_w1_b").at("default") = f32({1, 0, 1, 0, 1, 0}, {2, 3});
  l->params("hada_w2_a").at("default") = f32({1, 0, 0, 1}, {2, 2});
  l->params("hada_w2_b").at("default") = f32({2, 1, 0, 0, 0, 1}, {2, 3});
  // w1a @ w1b = [[1, 2, 1], [3, 4, 3]], w2a @ w2b = [[2, 1, 0], [0, 0, 1]]
  // Hadamard = [[2, 2, 0], [0, 0, 3]], times 3:
  const Tensor want = f32({6, 6, 0, 0, 0, 9}, {2, 3});
  CHECK(test::max_diff(l->get_delta_weight("default"), want) == 0.0);
  const Tensor x = randn({4, 3});
  const Tensor ref = linear(x, l->base_weight() + want, l->base_bias());
  CHECK(test::max_diff(model->forward(x), ref) < 1e-5);
}

TEST_CASE("loha parameter shapes follow the base layer type") {
  struct Case {
    std::string spec;
    bool effective;
    std::map<std::string, Shape> shapes;
  };
  const std::vector<Case> cases = {
      {test::linear_spec(5, 7),
       false,
       {{"hada_w1_a", {7, 2}},
        {"hada_w1_b", {2, 5}},
        {"hada_w2_a", {7, 2}},
        {"hada_w2_b", {2, 5}}}},
      // conv kernels flattened: in = in_channels / groups * kernel
      {test::conv2d_spec(4, 6, 3, 2),
       false,
       {{"hada_w1_a", {6, 2}}, {"hada_w1_b", {2, 18}}, {"hada_w2_b", {2, 18}}}},
      {test::conv1d_spec(3, 5, 3), false, {{"hada_w1_a", {5, 2}}, {"hada_w1_b", {2, 9}}}},
      // effective conv: CP cores [r, r, kh, kw] (Conv1d [r, r, k, 1]) and [r, out] / [r, in]
      {test::conv2d_spec(3, 5, 3),
       true,
       {{"hada_t1", {2, 2, 3, 3}},
        {"hada_t2", {2, 2, 3, 3}},
        {"hada_w1_a", {2, 5}},
        {"hada_w1_b", {2, 3}},
        {"hada_w2_a", {2, 5}},
        {"hada_w2_b", {2, 3}}}},
      {test::conv1d_spec(3, 5, 3), true, {{"hada_t1", {2, 2, 3, 1}}, {"hada_w1_b", {2, 3}}}},
      // 1x1 / k=1 kernels keep the flattened form even with use_effective_conv2d
      {test::conv2d_spec(3, 5, 1), true, {{"hada_w1_a", {5, 2}}, {"hada_w1_b", {2, 3}}}},
      {test::conv1d_spec(3, 5, 1), true, {{"hada_w1_a", {5, 2}}, {"hada_w1_b", {2, 3}}}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.spec);
    auto cfg = test::lycoris_config<LoHaConfig>({"m"}, 2);
    cfg->use_effective_conv2d = c.effective;
    auto model = get_peft_model(test::one_layer(c.spec), std::move(cfg));
    auto l = layer_of(*model);
    for (const auto& [name, shape] : c.shapes) {
      CAPTURE(name);
      REQUIRE(l->params(name).contains("default"));
      CHECK(l->params(name).at("default").shape() == shape);
    }
    CHECK(l->params("hada_t1").contains("default") == (c.shapes.count("hada_t1") > 0));
    CHECK(l->get_delta_weight("default").shape() == l->base_weight().shape());
  }
}

TEST_CASE("the CP rebuild contracts the core with both factors (einsum ijkl,ip,jr->prkl)") {
  manual_seed(11);
  const Tensor t = randn({2, 3, 2, 1}, kFloat64), wa = randn({2, 4}, kFloat64),
               wb = randn({3, 5}, kFloat64);
  const Tensor got = lycoris::rebuild_cp(t, wa, wb);
  REQUIRE(got.shape() == Shape{4, 5, 2, 1});
  const auto tv = t.to_vector<double>(), av = wa.to_vector<double>(), bv = wb.to_vector<double>();
  const auto gv = got.to_vector<double>();
  double worst = 0.0;
  for (int p = 0; p < 4; ++p) {
    for (int r = 0; r < 5; ++r) {
      for (int k = 0; k < 2; ++k) {
        double s = 0.0;
        for (int i = 0; i < 2; ++i) {
          for (int j = 0; j < 3; ++j) s += tv[(i * 3 + j) * 2 + k] * av[i * 4 + p] * bv[j * 5 + r];
        }
        worst = std::max(worst, std::abs(s - gv[(p * 5 + r) * 2 + k]));
      }
    }
  }
  CHECK(worst < 1e-12);
}

TEST_CASE("loha conv forward equals the base conv with the delta added to its kernel") {
  for (bool effective : {false, true}) {
    for (int groups : {1, 2}) {
      CAPTURE(effective);
      CAPTURE(groups);
      auto cfg = test::lycoris_config<LoHaConfig>({"m"}, 3, 6);
      cfg->use_effective_conv2d = effective;
      auto model =
          get_peft_model(test::one_layer(test::conv2d_spec(4, 6, 3, groups)), std::move(cfg));
      model->eval();
      auto l = layer_of(*model);
      NoGradGuard g;
      const Tensor x = randn({2, 4, 5, 5});
      const Tensor w = l->base_weight() + l->get_delta_weight("default");
      const Tensor ref = nn::functional::conv2d(x, w, l->base_bias(), {1}, 1, {1}, groups);
      CHECK(test::max_diff(model->forward(x), ref) < 1e-4);
    }
  }
}

TEST_CASE("loha init_weights=true starts as the identity, false does not") {
  for (bool effective : {false, true}) {
    CAPTURE(effective);
    auto base = test::one_layer(test::conv2d_spec(2, 4, 3));
    const Tensor x = randn({1, 2, 4, 4});
    const Tensor y0 = base->forward(x);
    auto cfg = test::lycoris_config<LoHaConfig>({"m"}, 2);
    cfg->init_weights = true;
    cfg->use_effective_conv2d = effective;
    auto model = get_peft_model(base, std::move(cfg));
    model->eval();
    auto l = layer_of(*model);
    CHECK(all(eq(l->params("hada_w2_b").at("default"), 0.0)).item<bool>());
    CHECK(any(ne(l->params("hada_w1_a").at("default"), 0.0)).item<bool>());
    CHECK(test::max_diff(model->forward(x), y0) == 0.0);
    model->add_adapter("rand", test::lycoris_config<LoHaConfig>({"m"}, 2));
    CHECK(any(ne(l->params("hada_w2_b").at("rand"), 0.0)).item<bool>());
    CHECK(test::max_diff(l->get_delta_weight("rand"), zeros_like(l->base_weight())) > 0.0);
  }
}

TEST_CASE("loha rank dropout zeroes whole rows in training and rescales the rest by 1/mean") {
  auto cfg = test::lycoris_config<LoHaConfig>({"m"}, 2);
  cfg->rank_dropout = 0.5;
  auto model = get_peft_model(test::one_layer(test::linear_spec(3, 16)), std::move(cfg));
  auto l = layer_of(*model);
  NoGradGuard g;
  model->eval();
  const Tensor full_delta = l->get_delta_weight("default");
  CHECK(test::max_diff(l->get_delta_weight("default"), full_delta) == 0.0);  // eval: none
  model->train();
  manual_seed(5);
  const Tensor dropped = l->get_delta_weight("default");
  const auto d = dropped.to_vector<float>(), f = full_delta.to_vector<float>();
  int kept = 0;
  std::vector<bool> row_kept(16);
  for (int i = 0; i < 16; ++i) {
    row_kept[i] = d[i * 3] != 0.0f;
    kept += row_kept[i] ? 1 : 0;
  }
  REQUIRE(kept > 0);
  REQUIRE(kept < 16);
  const double factor = 16.0 / kept;
  for (int i = 0; i < 16; ++i) {
    for (int j = 0; j < 3; ++j) {
      const double want = row_kept[i] ? f[i * 3 + j] * factor : 0.0;
      CHECK(std::abs(d[i * 3 + j] - want) < 1e-5);
    }
  }
}

TEST_CASE("loha module dropout skips the adapter in training only") {
  auto base = test::one_layer(test::linear_spec(3, 4));
  const Tensor x = randn({2, 3});
  const Tensor y0 = base->forward(x);
  auto cfg = test::lycoris_config<LoHaConfig>({"m"}, 2);
  cfg->module_dropout = 1.0;  // rand() > 1 never holds
  auto model = get_peft_model(base, std::move(cfg));
  model->train();
  CHECK(test::max_diff(model->forward(x), y0) == 0.0);
  model->eval();
  CHECK(test::max_diff(model->forward(x), y0) > 1e-4);
}

TEST_CASE("loha scaling follows alpha / r, set_scale, scale_layer and unscale_layer") {
  auto model = get_peft_model(
      test::one_layer(test::linear_spec(3, 4)), test::lycoris_config<LoHaConfig>({"m"}, 4, 2));
  auto l = layer_of(*model);
  CHECK(l->scaling.at("default") == 0.5);
  NoGradGuard g;
  const Tensor d = l->get_delta_weight("default");
  l->scale_layer(3.0);
  CHECK(l->scaling.at("default") == 1.5);
  CHECK(test::max_diff(l->get_delta_weight("default"), d * 3.0) < 1e-6);
  l->unscale_layer(3.0);
  CHECK(l->scaling.at("default") == 0.5);
  l->set_scale("default", 4.0);
  CHECK(l->scaling.at("default") == 2.0);
  l->unscale_layer();
  CHECK(l->scaling.at("default") == 0.5);
  l->set_scale("unknown", 4.0);  // ignored
  CHECK(l->scaling.count("unknown") == 0);
}
