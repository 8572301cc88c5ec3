// LR schedules: transformers' formulas evaluated by hand, LambdaLR stepping semantics.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "nn/nn.h"

using namespace peftcpp;
using namespace peftcpp::nn::optim;

namespace {
Tensor p() {
  return zeros({1}).requires_grad_();
}
}  // namespace

TEST_CASE("construction applies lambda(0) and stores initial_lr; step() advances t") {
  AdamW opt({p()}, AdamWOptions{});
  opt.param_groups()[0].lr = 0.02;
  LambdaLR s = get_linear_schedule_with_warmup(opt, 2, 8);
  CHECK(*opt.param_groups()[0].initial_lr == 0.02);
  CHECK(opt.param_groups()[0].lr == 0.0);  // lambda(0) = 0 / 2
  const std::vector<double> expected = {
      0.01, 0.02, 0.02 * 5 / 6, 0.02 * 4 / 6, 0.02 * 3 / 6, 0.02 * 2 / 6, 0.02 * 1 / 6, 0.0, 0.0};
  for (double e : expected) {
    s.step();
    CHECK(opt.param_groups()[0].lr == doctest::Approx(e).epsilon(1e-15));
  }
  CHECK(s.last_epoch() == 9);
}

TEST_CASE("cosine schedule with warmup: half a cosine from 1 at t = W to 0 at t = T, per group") {
  Tensor a = p(), b = p();
  AdamW opt(std::vector<ParamGroupSpec>{{{a}, {.lr = 0.02}, ""}, {{b}, {.lr = 0.01}, ""}}, {});
  LambdaLR s = get_cosine_schedule_with_warmup(opt, 3, 10);
  for (std::int64_t t = 0; t <= 12; ++t) {
    const double lam =
        t < 3 ? t / 3.0 : std::max(0.0, 0.5 * (1 + std::cos(std::numbers::pi * (t - 3) / 7.0)));
    CHECK(s.lr_lambda(t) == doctest::Approx(lam).epsilon(1e-15));
    CHECK(
        opt.param_groups()[0].lr ==
        doctest::Approx(0.02 * s.lr_lambda(s.last_epoch())).epsilon(1e-15));
    CHECK(
        opt.param_groups()[1].lr ==
        doctest::Approx(0.01 * s.lr_lambda(s.last_epoch())).epsilon(1e-15));
    s.step();
  }
  CHECK(s.lr_lambda(10) == doctest::Approx(0.0));
  CHECK(s.lr_lambda(3) == 1.0);
}

TEST_CASE("constant schedules and get_scheduler names") {
  SGD opt({p()}, {.lr = 0.1});
  LambdaLR s = get_constant_schedule_with_warmup(opt, 4);
  CHECK(s.lr_lambda(1) == 0.25);
  CHECK(s.lr_lambda(4) == 1.0);
  CHECK(s.lr_lambda(100) == 1.0);
  CHECK(get_scheduler("constant", opt).lr_lambda(0) == 1.0);
  CHECK(get_scheduler("linear", opt, 0, 4).lr_lambda(1) == 0.75);
  CHECK_THROWS_AS(get_scheduler("polynomial", opt), ValueError);
  // a second scheduler on the same optimizer keeps the stored initial_lr
  CHECK(*opt.param_groups()[0].initial_lr == 0.1);
}
