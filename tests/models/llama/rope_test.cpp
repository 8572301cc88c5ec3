// RoPE scaling variants against inverse frequencies computed by hand in double precision from
// the formulas of transformers' modeling_rope_utils (head_dim 8, rope_theta 10000,
// max_position_embeddings 64).
#include "models/llama/rope.h"

#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "models/llama/llama_model.h"
#include "tests/models/llama/llama_test_util.h"

using namespace peftcpp;
using llama_test::tiny_config;
using models::llama::compute_rope_parameters;
using models::llama::llama_settings;

namespace {

constexpr double kBase = 10000.0;
constexpr int kDim = 8;

std::vector<double> plain(double base = kBase) {
  std::vector<double> v;
  for (int i = 0; i < kDim / 2; ++i) v.push_back(1.0 / std::pow(base, 2.0 * i / kDim));
  return v;
}

void check_freqs(
    const models::llama::RopeParameters& got,
    const std::vector<double>& want,
    double attention = 1.0) {
  REQUIRE(got.inv_freq.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("i = ", i);
    CHECK(got.inv_freq[i] == doctest::Approx(want[i]).epsilon(2e-6));
  }
  CHECK(got.attention_scaling == doctest::Approx(attention).epsilon(1e-12));
}

models::llama::LlamaSettings settings(const std::string& overrides) {
  return llama_settings(*tiny_config("llama", overrides));
}

}  // namespace

TEST_CASE("rope default and linear scaling") {
  check_freqs(compute_rope_parameters(settings("{}")), plain());
  std::vector<double> lin = plain();
  for (double& f : lin) f /= 4.0;
  check_freqs(
      compute_rope_parameters(settings(R"({"rope_scaling": {"rope_type": "linear",
                                                             "factor": 4.0}})")),
      lin);
  // The legacy "type" key is accepted.
  check_freqs(
      compute_rope_parameters(settings(R"({"rope_scaling": {"type": "linear",
                                                                     "factor": 4.0}})")),
      lin);
  // rope_theta is honoured.
  check_freqs(compute_rope_parameters(settings(R"({"rope_theta": 500000.0})")), plain(500000.0));
}

TEST_CASE("rope dynamic NTK grows the base past max_position_embeddings only") {
  const auto s = settings(R"({"rope_scaling": {"rope_type": "dynamic", "factor": 2.0}})");
  check_freqs(compute_rope_parameters(s), plain());
  check_freqs(compute_rope_parameters(s, 30), plain());
  const double base = kBase * std::pow(2.0 * 100.0 / 64.0 - 1.0, 8.0 / 6.0);
  check_freqs(compute_rope_parameters(s, 100), plain(base));

  // The model's rotary module follows the longest position seen and resets below the original.
  models::llama::LlamaRotaryEmbedding rope(s);
  rope.forward(arange(100).unsqueeze(0), kFloat32);
  CHECK(rope.inv_freq.to_vector<float>()[1] == doctest::Approx(plain(base)[1]).epsilon(2e-6));
  rope.forward(arange(10).unsqueeze(0), kFloat32);
  CHECK(rope.inv_freq.to_vector<float>()[1] == doctest::Approx(plain()[1]).epsilon(2e-6));
}

TEST_CASE("rope yarn: ramp between interpolation and extrapolation, attention factor") {
  const auto s = settings(R"({"rope_scaling": {"rope_type": "yarn", "factor": 4.0}})");
  const double pi = std::numbers::pi;
  auto corr = [&](double rot) {
    return kDim * std::log(64.0 / (rot * 2 * pi)) / (2 * std::log(kBase));
  };
  const double low = std::max(std::floor(corr(32.0)), 0.0);
  const double high = std::min(std::ceil(corr(1.0)), kDim - 1.0);
  std::vector<double> want;
  for (int i = 0; i < kDim / 2; ++i) {
    const double pos = std::pow(kBase, 2.0 * i / kDim);
    const double ramp = std::clamp((i - low) / (high == low ? 0.001 : high - low), 0.0, 1.0);
    const double extra = 1.0 - ramp;
    want.push_back(1.0 / (4.0 * pos) * (1.0 - extra) + 1.0 / pos * extra);
  }
  check_freqs(compute_rope_parameters(s), want, 0.1 * std::log(4.0) + 1.0);
  const auto custom = settings(R"({"rope_scaling": {"rope_type": "yarn", "factor": 4.0,
      "attention_factor": 0.75, "beta_fast": 8.0, "beta_slow": 2.0}})");
  CHECK(compute_rope_parameters(custom).attention_scaling == 0.75);

  // cos/sin carry the attention factor.
  models::llama::LlamaRotaryEmbedding rope(s);
  const auto [c, sn] = rope.forward(tensor<std::int64_t>({3}, {1, 1}), kFloat32);
  const double att = 0.1 * std::log(4.0) + 1.0;
  for (int i = 0; i < kDim / 2; ++i) {
    CHECK(c.to_vector<float>()[i] == doctest::Approx(std::cos(3.0 * want[i]) * att).epsilon(1e-5));
    CHECK(c.to_vector<float>()[i + 4] == c.to_vector<float>()[i]);
    CHECK(sn.to_vector<float>()[i] == doctest::Approx(std::sin(3.0 * want[i]) * att).epsilon(1e-5));
  }
}

TEST_CASE("rope longrope: long factors past the original context, short ones within") {
  const std::string factors = R"("short_factor": [1.0, 1.5, 2.0, 2.5],
                                 "long_factor": [4.0, 5.0, 6.0, 7.0])";
  const std::vector<double> long_f = {4, 5, 6, 7}, short_f = {1, 1.5, 2, 2.5};
  auto scaled = [](const std::vector<double>& f) {
    std::vector<double> v = plain();
    for (std::size_t i = 0; i < v.size(); ++i) v[i] /= f[i];
    return v;
  };
  check_freqs(
      compute_rope_parameters(settings(
          R"({"rope_scaling": {"rope_type": "longrope", "factor": 4.0, )" + factors + "}}")),
      scaled(long_f),
      std::sqrt(1.0 + std::log(4.0) / std::log(64.0)));
  check_freqs(
      compute_rope_parameters(settings(
          R"({"rope_scaling": {"rope_type": "longrope", "factor": 1.0, )" + factors + "}}")),
      scaled(short_f),
      1.0);
  // Phi-3 style: original_max_position_embeddings at the top level sets factor = 64 / 32.
  check_freqs(
      compute_rope_parameters(settings(
          R"({"original_max_position_embeddings": 32,
          "rope_scaling": {"rope_type": "longrope", "factor": 9.0, )" +
          factors + "}}")),
      scaled(long_f),
      std::sqrt(1.0 + std::log(2.0) / std::log(32.0)));
  CHECK_THROWS_AS(
      compute_rope_parameters(settings(R"({"rope_scaling": {"rope_type": "longrope",
      "factor": 4.0, "short_factor": [1.0], "long_factor": [1.0]}})")),
      ValueError);
}

TEST_CASE("rope llama3: low frequencies divided, high kept, medium smoothed") {
  const auto s = settings(R"({"rope_scaling": {"rope_type": "llama3", "factor": 8.0,
      "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 16}})");
  std::vector<double> want;
  for (double f : plain()) {
    const double wavelen = 2 * std::numbers::pi / f;
    if (wavelen < 16.0 / 4.0) {
      want.push_back(f);
    } else if (wavelen > 16.0) {
      want.push_back(f / 8.0);
    } else {
      const double smooth = (16.0 / wavelen - 1.0) / (4.0 - 1.0);
      want.push_back((1 - smooth) * f / 8.0 + smooth * f);
    }
  }
  // head_dim 8: frequency 0 (wavelength 2 pi) is medium, the others are low.
  check_freqs(compute_rope_parameters(s), want);
}

TEST_CASE("a scaled rope changes the model's outputs only through the frequencies") {
  const Tensor ids = llama_test::ids_tensor({5, 6, 7, 8, 9, 10}, 1, 6);
  models::ModelInputs x;
  x.input_ids = ids;
  NoGradGuard ng;
  auto plain_m = llama_test::seeded_model(*tiny_config(), "LlamaForCausalLM");
  auto linear_m = llama_test::seeded_model(
      *tiny_config("llama", R"({"rope_scaling": {"rope_type": "linear", "factor": 2.0}})"),
      "LlamaForCausalLM");
  // Linear scaling by 2 at positions p equals the plain model at positions p / 2 -- checked at
  // even positions through explicit position_ids.
  models::ModelInputs even = x;
  even.position_ids = tensor<std::int64_t>({0, 2, 4, 6, 8, 10}, {1, 6});
  models::ModelInputs halved = x;
  halved.position_ids = tensor<std::int64_t>({0, 1, 2, 3, 4, 5}, {1, 6});
  llama_test::check_close(
      linear_m->forward(even).logits,
      plain_m->forward(halved).logits,
      1e-5,
      "linear(2) at 2p == default at p");
  CHECK(max_abs_diff(linear_m->forward(x).logits, plain_m->forward(x).logits) > 1e-4);
}
