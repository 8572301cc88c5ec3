// LoKr's core math against hand-computed values: factorization, the Kronecker product (torch's
// rules for mixed ranks), which factors are full or decomposed, the delta weight and forward per
// layer type, the three initialisations and rank dropout with and without rescaling.
#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "nn/functional.h"
#include "peft/tuners/lokr/layer.h"
#include "tests/peft/lycoris/lycoris_test_util.h"

using namespace peftcpp;

namespace {

std::shared_ptr<lokr::LoKrLayer> layer_of(PeftModel& model, const std::string& name = "m") {
  auto l = model.get_base_model()->get_submodule_as<lokr::LoKrLayer>(name);
  REQUIRE(l != nullptr);
  return l;
}

Tensor f32(const std::vector<float>& v, Shape s) {
  return tensor<float>(v, std::move(s));
}

using Split = std::pair<std::int64_t, std::int64_t>;

}  // namespace

TEST_CASE("factorization splits a dimension as LyCORIS does") {
  CHECK(lokr::factorization(256) == Split{16, 16});
  CHECK(lokr::factorization(128) == Split{8, 16});
  CHECK(lokr::factorization(127) == Split{1, 127});
  CHECK(lokr::factorization(128, 4) == Split{4, 32});
  CHECK(lokr::factorization(12) == Split{3, 4});
  CHECK(lokr::factorization(12, 5) == Split{3, 4});  // 5 does not divide: divisors up to 5
  CHECK(lokr::factorization(12, 2) == Split{2, 6});
  CHECK(lokr::factorization(7, 3) == Split{1, 7});
  CHECK(lokr::factorization(32, 16) == Split{16, 2});  // a dividing factor is taken as is
  CHECK(lokr::factorization(1) == Split{1, 1});
}

TEST_CASE("make_kron is torch.kron times the scale, lifting w1 against 4-d kernels") {
  const Tensor w1 = f32({1, 2, 3, 4}, {2, 2});
  const Tensor w2 = f32({0, 1, 1, 0}, {2, 2});
  const Tensor want = f32({0, 1, 0, 2, 1, 0, 2, 0, 0, 3, 0, 4, 3, 0, 4, 0}, {4, 4});
  CHECK(test::max_diff(lokr::make_kron(w1, w2, 2.0), want * 2.0) == 0.0);
  // 3-d w2 (Conv1d kernels): w1 is padded in front to [1, 2, 2] -> [1, 2, 4]
  const Tensor k3 = lokr::make_kron(w1, f32({5, 6}, {1, 1, 2}));
  CHECK(k3.shape() == Shape{1, 2, 4});
  CHECK(test::max_diff(k3, f32({5, 6, 10, 12, 15, 18, 20, 24}, {1, 2, 4})) == 0.0);
  // 4-d w2 (Conv2d kernels): w1 lifted to [2, 2, 1, 1]
  const Tensor k4 = lokr::make_kron(w1, f32({1, -1}, {1, 1, 1, 2}));
  CHECK(k4.shape() == Shape{2, 2, 1, 2});
  CHECK(test::max_diff(k4, f32({1, -1, 2, -2, 3, -3, 4, -4}, {2, 2, 1, 2})) == 0.0);
}

TEST_CASE("lokr picks full or low-rank factors from r, decompose_both and the conv options") {
  struct Case {
    std::string spec;
    int r;
    bool decompose_both, effective;
    std::map<std::string, Shape> shapes;
  };
  const std::vector<Case> cases = {
      // 16 = 4 * 4, 32 = 4 * 8: w2 full since r >= max(8, 4) / 2
      {test::linear_spec(16, 32), 4, false, false, {{"lokr_w1", {4, 4}}, {"lokr_w2", {8, 4}}}},
      {test::linear_spec(16, 32),
       1,
       false,
       false,
       {{"lokr_w1", {4, 4}}, {"lokr_w2_a", {8, 1}}, {"lokr_w2_b", {1, 4}}}},
      {test::linear_spec(16, 32),
       1,
       true,
       false,
       {{"lokr_w1_a", {4, 1}},
        {"lokr_w1_b", {1, 4}},
        {"lokr_w2_a", {8, 1}},
        {"lokr_w2_b", {1, 4}}}},
      // Conv2d 4 -> 8, 3x3: in 2 * 2, out 2 * 4
      {test::conv2d_spec(4, 8, 3),
       1,
       false,
       false,
       {{"lokr_w1", {2, 2}}, {"lokr_w2_a", {4, 1}}, {"lokr_w2_b", {1, 18}}}},
      {test::conv2d_spec(4, 8, 3),
       1,
       false,
       true,
       {{"lokr_t2", {1, 1, 3, 3}}, {"lokr_w2_a", {1, 4}}, {"lokr_w2_b", {1, 2}}}},
      {test::conv2d_spec(4, 8, 3), 2, false, true, {{"lokr_w2", {4, 2, 3, 3}}}},
      {test::conv2d_spec(4, 8, 1), 1, false, true, {{"lokr_w2_a", {4, 1}}, {"lokr_w2_b", {1, 2}}}},
      // groups: in = 8 / 2 = 4 = 2 * 2
      {test::conv2d_spec(8, 8, 3, 2),
       8,
       false,
       false,
       {{"lokr_w1", {2, 2}}, {"lokr_w2", {4, 2, 3, 3}}}},
      {test::conv1d_spec(4, 8, 3),
       1,
       false,
       true,
       {{"lokr_t2", {1, 1, 3, 1}}, {"lokr_w2_b", {1, 2}}}},
      {test::conv1d_spec(4, 8, 3), 1, false, false, {{"lokr_w2_b", {1, 6}}}},
      {test::conv1d_spec(4, 8, 3), 8, false, false, {{"lokr_w2", {4, 2, 3}}}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.spec);
    CAPTURE(c.r);
    auto cfg = test::lycoris_config<LoKrConfig>({"m"}, c.r);
    cfg->decompose_both = c.decompose_both;
    cfg->use_effective_conv2d = c.effective;
    auto model = get_peft_model(test::one_layer(c.spec), std::move(cfg));
    auto l = layer_of(*model);
    for (const auto& [name, shape] : c.shapes) {
      CAPTURE(name);
      REQUIRE(l->params(name).contains("default"));
      CHECK(l->params(name).at("default").shape() == shape);
    }
    CHECK(l->get_delta_weight("default").shape() == l->base_weight().shape());
  }
}

TEST_CASE("lokr Linear delta is the scaled Kronecker product; forward adds it to the weight") {
  auto cfg = test::lycoris_config<LoKrConfig>({"m"}, 1, 2);  // 4 = 2 * 2 both ways; scaling 2
  auto model = get_peft_model(test::one_layer(test::linear_spec(4, 4)), std::move(cfg));
  model->eval();
  auto l = layer_of(*model);
  l->params("lokr_w1").at("default") = f32({1, 2, 3, 4}, {2, 2});
  l->params("lokr_w2").at("default") = f32({0, 1, 1, 0}, {2, 2});
  const Tensor want = f32({0, 2, 0, 4, 2, 0, 4, 0, 0, 6, 0, 8, 6, 0, 8, 0}, {4, 4});
  CHECK(test::max_diff(l->get_delta_weight("default"), want) == 0.0);
  const Tensor x = randn({3, 4});
  CHECK(
      test::max_diff(model->forward(x), linear(x, l->base_weight() + want, l->base_bias())) < 1e-5);
}

TEST_CASE("lokr Conv1d with a full 3-d w2 reshapes torch.kron's [b, a*d, c*k] result") {
  // Conv1d 4 -> 4, k = 2, r = 8: w1 [2, 2], w2 [2, 2, 2]; kron pads w1 to [1, 2, 2]
  auto cfg = test::lycoris_config<LoKrConfig>({"m"}, 8, 8);
  auto model = get_peft_model(test::one_layer(test::conv1d_spec(4, 4, 2)), std::move(cfg));
  model->eval();
  auto l = layer_of(*model);
  const auto w1 = l->params("lokr_w1").at("default").to_vector<float>();
  const auto w2 = l->params("lokr_w2").at("default").to_vector<float>();
  REQUIRE(w2.size() == 8);
  // R[j0, i1 * 2 + j1, i2 * 2 + j2] = w1[i1, i2] * w2[j0, j1, j2], R: [2, 4, 4], flattened
  std::vector<float> flat(32);
  for (int j0 = 0; j0 < 2; ++j0)
    for (int i1 = 0; i1 < 2; ++i1)
      for (int j1 = 0; j1 < 2; ++j1)
        for (int i2 = 0; i2 < 2; ++i2)
          for (int j2 = 0; j2 < 2; ++j2)
            flat[(j0 * 4 + i1 * 2 + j1) * 4 + i2 * 2 + j2] =
                w1[i1 * 2 + i2] * w2[(j0 * 2 + j1) * 2 + j2];
  const Tensor want = tensor<float>(flat, {4, 4, 2});
  NoGradGuard g;
  CHECK(test::max_diff(l->get_delta_weight("default"), want) < 1e-6);
  const Tensor x = randn({2, 4, 6});
  const Tensor ref = nn::functional::conv1d(x, l->base_weight() + want, l->base_bias(), 1, 1);
  CHECK(test::max_diff(model->forward(x), ref) < 1e-5);
}

TEST_CASE("lokr conv forward equals the base conv with the delta added to its kernel") {
  for (int r : {1, 8}) {
    for (bool effective : {false, true}) {
      CAPTURE(r);
      CAPTURE(effective);
      auto cfg = test::lycoris_config<LoKrConfig>({"m"}, r, 4);
      cfg->use_effective_conv2d = effective;
      auto model = get_peft_model(test::one_layer(test::conv2d_spec(4, 6, 3)), std::move(cfg));
      model->eval();
      auto l = layer_of(*model);
      NoGradGuard g;
      const Tensor x = randn({2, 4, 5, 5});
      const Tensor w = l->base_weight() + l->get_delta_weight("default");
      CHECK(
          test::max_diff(model->forward(x), nn::functional::conv2d(x, w, l->base_bias(), {1}, 1)) <
          1e-4);
    }
  }
}

TEST_CASE("lokr init_weights true and 'lycoris' start as the identity, false does not") {
  for (bool decompose : {false, true}) {
    CAPTURE(decompose);
    auto base = test::one_layer(test::linear_spec(16, 32));
    const Tensor x = randn({2, 16});
    const Tensor y0 = base->forward(x);
    auto make = [&](InitWeights init) {
      auto c = test::lycoris_config<LoKrConfig>({"m"}, 1);
      c->decompose_both = decompose;
      c->init_weights = init;
      return c;
    };
    auto model = get_peft_model(base, make(true));
    model->add_adapter("lyco", make("lycoris"));
    model->add_adapter("rand", make(false));
    model->eval();
    auto l = layer_of(*model);
    auto zero = [&](const char* n, const char* a) {
      return all(eq(l->params(n).at(a), 0.0)).item<bool>();
    };
    CHECK(zero(decompose ? "lokr_w1_a" : "lokr_w1", "default"));
    CHECK_FALSE(zero("lokr_w2_a", "default"));
    CHECK(zero("lokr_w2_b", "lyco"));
    CHECK_FALSE(zero(decompose ? "lokr_w1_a" : "lokr_w1", "lyco"));
    CHECK_FALSE(zero("lokr_w2_b", "rand"));
    CHECK(test::max_diff(model->forward(x), y0) == 0.0);
    model->set_adapter("lyco");
    CHECK(test::max_diff(model->forward(x), y0) == 0.0);
    model->set_adapter("rand");
    CHECK(test::max_diff(model->forward(x), y0) > 1e-5);
  }
}

TEST_CASE("lokr rank dropout drops rows; rank_dropout_scale decides the 1/mean rescaling") {
  for (bool rescale : {false, true}) {
    CAPTURE(rescale);
    auto cfg = test::lycoris_config<LoKrConfig>({"m"}, 2);
    cfg->rank_dropout = 0.5;
    cfg->rank_dropout_scale = rescale;
    auto model = get_peft_model(test::one_layer(test::linear_spec(4, 16)), std::move(cfg));
    auto l = layer_of(*model);
    NoGradGuard g;
    model->eval();
    const auto f = l->get_delta_weight("default").to_vector<float>();
    model->train();
    manual_seed(9);
    const auto d = l->get_delta_weight("default").to_vector<float>();
    int kept = 0;
    for (int i = 0; i < 16; ++i) kept += d[i * 4] != 0.0f || d[i * 4 + 1] != 0.0f ? 1 : 0;
    REQUIRE(kept > 0);
    REQUIRE(kept < 16);
    const double factor = rescale ? 16.0 / kept : 1.0;
    for (int i = 0; i < 16; ++i) {
      const bool on = d[i * 4] != 0.0f || d[i * 4 + 1] != 0.0f;
      for (int j = 0; j < 4; ++j)
        CHECK(std::abs(d[i * 4 + j] - (on ? f[i * 4 + j] * factor : 0.0)) < 1e-5);
    }
  }
}
