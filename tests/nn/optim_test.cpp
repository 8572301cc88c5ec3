// Optimizer update rules on hand-computed steps, groups, state dicts, clipping, accumulation.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/grad_mode.h"
#include "nn/nn.h"

using namespace peftcpp;
using namespace peftcpp::nn;
using namespace peftcpp::nn::optim;

namespace {

Tensor param(std::vector<double> v) {
  return tensor<double>(v).requires_grad_();
}
void set_grad(Tensor& p, std::vector<double> g) {
  p.set_grad(tensor<double>(g));
}
double at(const Tensor& t, std::size_t i) {
  return t.to_vector<double>()[i];
}

}  // namespace

TEST_CASE("SGD with momentum, dampening and weight decay follows torch step by step") {
  Tensor p = param({1.0, -2.0});
  SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.5, .weight_decay = 0.01});
  set_grad(p, {0.5, 1.0});
  opt.step();
  // d = g + wd p = [0.51, 0.98]; buf = d (first step: no dampening); p -= lr * buf
  CHECK(at(p, 0) == doctest::Approx(1.0 - 0.1 * 0.51));
  CHECK(at(p, 1) == doctest::Approx(-2.0 - 0.1 * 0.98));
  const double p0 = at(p, 0);
  set_grad(p, {0.5, 1.0});
  opt.step();
  const double d0 = 0.5 + 0.01 * p0, buf0 = 0.9 * 0.51 + 0.5 * d0;
  CHECK(at(p, 0) == doctest::Approx(p0 - 0.1 * buf0).epsilon(1e-12));
  CHECK(at(opt.state(p)->at("momentum_buffer"), 0) == doctest::Approx(buf0).epsilon(1e-12));
}

TEST_CASE("SGD nesterov adds momentum * buf to the gradient; invalid combos are rejected") {
  Tensor p = param({1.0});
  SGD opt({p}, {.lr = 0.5, .momentum = 0.9, .nesterov = true});
  set_grad(p, {2.0});
  opt.step();  // buf = 2, d = 2 + 0.9 * 2 = 3.8
  CHECK(at(p, 0) == doctest::Approx(1.0 - 0.5 * 3.8));
  CHECK_THROWS_AS(
      SGD({param({1})}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}),
      ValueError);
  CHECK_THROWS_AS(SGD({param({1})}, {.lr = -1.0}), ValueError);
}

TEST_CASE("Adam: bias-corrected first step moves each weight by lr (L2 decay enters the moments)") {
  Tensor p = param({1.0, -1.0});
  Adam opt({p}, {.lr = 0.01, .weight_decay = 0.1});
  set_grad(p, {0.3, -4.0});
  opt.step();
  // m_hat = g', v_hat = g'^2 -> update = lr * g' / (|g'| + eps) ~ lr * sign(g')
  CHECK(at(p, 0) == doctest::Approx(1.0 - 0.01).epsilon(1e-6));
  CHECK(at(p, 1) == doctest::Approx(-1.0 + 0.01).epsilon(1e-6));
  const ParamState& st = *opt.state(p);
  CHECK(st.at("step").dtype() == kFloat32);
  CHECK(st.at("step").item<float>() == 1.0f);
  CHECK(at(st.at("exp_avg"), 0) == doctest::Approx(0.1 * (0.3 + 0.1 * 1.0)));
  CHECK(at(st.at("exp_avg_sq"), 1) == doctest::Approx(0.001 * std::pow(-4.0 - 0.1, 2)));
  CHECK_FALSE(st.count("max_exp_avg_sq"));
}

TEST_CASE("AdamW two steps by hand with decoupled decay and amsgrad") {
  const double lr = 0.1, b1 = 0.9, b2 = 0.5, eps = 1e-8, wd = 0.2;
  Tensor p = param({2.0});
  AdamWOptions o;
  o.lr = lr;
  o.beta2 = b2;
  o.weight_decay = wd;
  o.amsgrad = true;
  AdamW opt({p}, o);
  double x = 2.0, m = 0, v = 0, vmax = 0;
  for (int step = 1; step <= 2; ++step) {
    const double g = step == 1 ? 3.0 : 0.5;  // the second gradient is small: vmax keeps the first
    set_grad(p, {g});
    opt.step();
    x *= 1 - lr * wd;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    vmax = std::max(vmax, v);
    const double denom = std::sqrt(vmax) / std::sqrt(1 - std::pow(b2, step)) + eps;
    x -= lr / (1 - std::pow(b1, step)) * m / denom;
    CHECK(at(p, 0) == doctest::Approx(x).epsilon(1e-12));
  }
  CHECK(at(opt.state(p)->at("max_exp_avg_sq"), 0) == doctest::Approx(vmax));
  CHECK(at(opt.state(p)->at("exp_avg_sq"), 0) < vmax);
}

TEST_CASE("params whose grad is undefined are skipped entirely; zeroed grads are not") {
  Tensor a = param({1.0}), b = param({1.0});
  AdamW opt({a, b}, {});
  set_grad(a, {1.0});
  opt.step();
  CHECK(at(b, 0) == 1.0);  // no decay either
  CHECK(opt.state(b) == nullptr);
  opt.zero_grad(false);
  CHECK(a.grad().defined());
  set_grad(b, {0.0});
  opt.step();
  CHECK(at(b, 0) == doctest::Approx(1.0 * (1 - 1e-3 * 1e-2)));  // decay applied with a zero grad
  CHECK(opt.state(b)->at("step").item<float>() == 1.0f);
  CHECK(opt.state(a)->at("step").item<float>() == 2.0f);
  opt.zero_grad();
  CHECK_FALSE(a.grad().defined());
}

TEST_CASE("param groups carry their own lr and weight decay (LoRA+ style)") {
  Tensor a = param({1.0}), b = param({1.0});
  std::vector<ParamGroupSpec> groups = {
      {{a}, {}, "groupA"},
      {{}, {.lr = 1e-6}, "embedding"},
      {{b}, {.lr = 0.16, .weight_decay = 0.0}, "groupB"}};
  AdamW opt(groups, {});
  CHECK(opt.param_groups().size() == 3);
  CHECK(opt.param_groups()[0].lr == 1e-3);
  CHECK(opt.param_groups()[0].weight_decay == 1e-2);
  set_grad(a, {1.0});
  set_grad(b, {1.0});
  opt.step();
  CHECK(at(a, 0) == doctest::Approx(1.0 * (1 - 1e-5) - 1e-3).epsilon(1e-9));
  CHECK(at(b, 0) == doctest::Approx(1.0 - 0.16).epsilon(1e-9));
  CHECK_THROWS_AS(AdamW(std::vector<ParamGroupSpec>{{{a}, {}, ""}, {{a}, {}, ""}}, {}), ValueError);
}

TEST_CASE("optimizer state_dict round-trips into a fresh optimizer and continues identically") {
  Tensor p1 = param({0.5, -0.25}), p2 = param({0.5, -0.25});
  AdamW o1({p1}, {}), o2({p2}, {});
  set_grad(p1, {1.0, 2.0});
  o1.step();
  o1.param_groups()[0].lr = 0.05;
  OptimizerStateDict sd = o1.state_dict();
  CHECK(sd.count("state.0.exp_avg"));
  CHECK(sd.at("param_groups.0.lr").item<double>() == 0.05);
  {
    NoGradGuard ng;
    p2.detach().copy_(p1.detach());
  }
  o2.load_state_dict(sd);
  set_grad(p1, {-1.0, 0.5});
  set_grad(p2, {-1.0, 0.5});
  o1.step();
  o2.step();
  CHECK(max_abs_diff(p1, p2) == 0.0);
  CHECK(o2.state(p2)->at("step").item<float>() == 2.0f);
  AdamW o3({param({1}), param({2})}, {});
  CHECK_THROWS_AS(o3.load_state_dict(sd), ValueError);
}

TEST_CASE(
    "clip_grad_norm_ returns the pre-clip global norm and scales by max_norm / (norm + 1e-6)") {
  Tensor a = param({3.0, 0.0}), b = param({4.0}), c = param({1.0});
  set_grad(a, {3.0, 0.0});
  set_grad(b, {4.0});
  const double n = clip_grad_norm_({a, b, c}, 1.0);
  CHECK(n == doctest::Approx(5.0));
  const double coef = 1.0 / (5.0 + 1e-6);
  CHECK(at(a.grad(), 0) == doctest::Approx(3.0 * coef).epsilon(1e-12));
  CHECK(at(b.grad(), 0) == doctest::Approx(4.0 * coef).epsilon(1e-12));
  CHECK(
      clip_grad_norm_({a, b}, 10.0) == doctest::Approx(1.0).epsilon(1e-6));  // below max: unchanged
  CHECK(at(b.grad(), 0) == doctest::Approx(4.0 * coef).epsilon(1e-12));
  set_grad(a, {-7.0, 2.0});
  CHECK(clip_grad_norm_({a, b}, 100.0, INFINITY) == doctest::Approx(7.0));
  set_grad(a, {NAN, 1.0});
  CHECK_THROWS_AS(clip_grad_norm_({a}, 1.0, 2.0, true), ValueError);
}

TEST_CASE("gradient accumulation over micro-batches equals one full-batch step") {
  Generator g1(5), g2(5);
  auto m1 = std::make_shared<Linear>(3, 2, true, FactoryOptions{.generator = &g1});
  auto m2 = std::make_shared<Linear>(3, 2, true, FactoryOptions{.generator = &g2});
  Tensor x = randn({4, 3}), y = randn({4, 2});
  SGD o1(m1->parameters(), {.lr = 0.1, .momentum = 0.9});
  SGD o2(m2->parameters(), {.lr = 0.1, .momentum = 0.9});
  for (int step = 0; step < 3; ++step) {
    o1.zero_grad();
    functional::mse_loss(m1->forward(x), y).backward();
    o1.step();
    o2.zero_grad();
    for (int j = 0; j < 2; ++j) {  // each micro-batch loss / 2: mean over half the rows
      div(functional::mse_loss(m2->forward(x.narrow(0, 2 * j, 2)), y.narrow(0, 2 * j, 2)), 2.0)
          .backward();
    }
    o2.step();
  }
  CHECK(max_abs_diff(m1->weight, m2->weight) < 1e-6);
  CHECK(max_abs_diff(m1->bias, m2->bias) < 1e-6);
}

TEST_CASE("optimizer load_state_dict rejects malformed and out-of-range state keys") {
  Tensor p = param({1.0, 2.0});
  AdamW opt({p}, {});
  OptimizerStateDict sd = opt.state_dict();
  sd["state.x.exp_avg"] = zeros({2}, kFloat64);
  CHECK_THROWS_WITH_AS(opt.load_state_dict(sd), doctest::Contains("state.x.exp_avg"), ValueError);
  sd.erase("state.x.exp_avg");
  sd["state.3.exp_avg"] = zeros({2}, kFloat64);
  CHECK_THROWS_WITH_AS(opt.load_state_dict(sd), doctest::Contains("parameter 3"), ValueError);
  sd.erase("state.3.exp_avg");
  sd["state.0.exp_avg"] = zeros({3}, kFloat64);
  CHECK_THROWS_AS(opt.load_state_dict(sd), ShapeError);
}
