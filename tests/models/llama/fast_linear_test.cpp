// The inference GEMV shortcut equals the Linear module it stands in for, and steps aside
// whenever autograd, another module type or a longer input is involved.
#include "models/llama/fast_linear.h"

#include <doctest/doctest.h>

#include <cmath>

#include "nn/functional.h"
#include "nn/layers/activation.h"
#include "nn/layers/linear.h"
#include "tests/models/llama/llama_test_util.h"

using namespace peftcpp;

namespace {

// A Linear subclass: must not be bypassed (its forward may do more than the product).
class ScaledLinear : public nn::Linear {
 public:
  using nn::Linear::Linear;
  Tensor forward(const Tensor& x) override {
    return mul(nn::Linear::forward(x), 2.0);
  }
};

}  // namespace

TEST_CASE("apply_linear's GEMV equals Linear::forward for 1..8 rows, odd widths, with bias") {
  Generator gen(3);
  for (const std::int64_t k : {1, 15, 16, 37, 512}) {
    for (const std::int64_t n : {1, 3, 4, 7, 130}) {
      for (const bool bias : {false, true}) {
        auto lin = std::make_shared<nn::Linear>(k, n, bias, nn::FactoryOptions{.generator = &gen});
        std::shared_ptr<nn::UnaryModule> m = lin;
        for (const std::int64_t rows : {1, 3, 8}) {
          INFO("k ", k, " n ", n, " rows ", rows, " bias ", bias);
          const Tensor x = randn({rows, 1, k}, kFloat32, &gen);
          Tensor want, got;
          {
            NoGradGuard ng;
            got = models::llama::apply_linear(m, x);
            want = nn::functional::linear(
                x.to(kFloat64), lin->weight.to(kFloat64), bias ? lin->bias.to(kFloat64) : Tensor());
          }
          REQUIRE(got.shape() == Shape{rows, 1, n});
          CHECK(max_abs_diff(got.to(kFloat64), want) <= 1e-5 * std::sqrt(static_cast<double>(k)));
        }
      }
    }
  }
}

TEST_CASE("apply_linear defers to forward for autograd, subclasses and long inputs") {
  Generator gen(4);
  auto scaled = std::make_shared<ScaledLinear>(8, 4, true, nn::FactoryOptions{.generator = &gen});
  std::shared_ptr<nn::UnaryModule> m = scaled;
  const Tensor x = randn({1, 8}, kFloat32, &gen);
  {
    NoGradGuard ng;
    llama_test::check_close(
        models::llama::apply_linear(m, x), scaled->forward(x), 0.0, "subclass forward kept");
  }
  auto lin = std::make_shared<nn::Linear>(8, 4, true, nn::FactoryOptions{.generator = &gen});
  std::shared_ptr<nn::UnaryModule> plain = lin;
  // With grad mode on the result must carry history back to the weight.
  const Tensor y = models::llama::apply_linear(plain, x);
  REQUIRE(y.requires_grad());
  sum(y).backward();
  CHECK(lin->weight.grad().defined());
  // More rows than the GEMV takes go through the GEMM (same values).
  NoGradGuard ng;
  const Tensor big = randn({models::llama::kMaxGemvRows + 1, 8}, kFloat32, &gen);
  llama_test::check_close(
      models::llama::apply_linear(plain, big), lin->forward(big), 0.0, "long input");
}

TEST_CASE("apply_linears computes several products of one input, falling back as a group") {
  Generator gen(5);
  const nn::FactoryOptions fo{.generator = &gen};
  auto a = std::make_shared<nn::Linear>(24, 40, true, fo);
  auto b = std::make_shared<nn::Linear>(24, 8, false, fo);
  auto c = std::make_shared<nn::Linear>(24, 1000, true, fo);
  auto scaled = std::make_shared<ScaledLinear>(24, 8, true, fo);
  const Tensor x = randn({2, 1, 24}, kFloat32, &gen);
  NoGradGuard ng;
  const std::vector<Tensor> fast = models::llama::apply_linears({a, b, c}, x);
  REQUIRE(fast.size() == 3);
  llama_test::check_close(fast[0], a->forward(x), 1e-5, "a");
  llama_test::check_close(fast[1], b->forward(x), 1e-5, "b");
  llama_test::check_close(fast[2], c->forward(x), 1e-5, "c");
  const std::vector<Tensor> mixed = models::llama::apply_linears({a, scaled}, x);
  llama_test::check_close(mixed[1], scaled->forward(x), 0.0, "subclass in a group");
}
