// The fused training kernels (rms_norm, rotary, silu_mul, cross_entropy, Adam/AdamW steps):
// each equals its composed path (FusedKernelsDisabled) forward and backward, in float64 to
// rounding and in float32 within float tolerance, and passes a float64 finite-difference check.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <optional>

#include "autograd/gradcheck.h"
#include "nn/nn.h"
#include "nn/optim/adam.h"
#include "tensor/backend/backend.h"

using namespace peftcpp;
namespace F = peftcpp::nn::functional;

namespace {

using Fn = std::function<Tensor(const TensorList&)>;

struct Run {
  Tensor out;
  TensorList grads;
};

// Output and input gradients (for a fixed random output weighting) of fn at fresh leaf copies.
Run run(const Fn& fn, const TensorList& inputs, bool fused) {
  std::optional<FusedKernelsDisabled> off;
  if (!fused) off.emplace();
  TensorList leaves;
  for (const Tensor& t : inputs) {
    Tensor c = t.detach().clone();
    if (t.requires_grad()) c.requires_grad_();
    leaves.push_back(c);
  }
  Run r;
  r.out = fn(leaves);
  Generator g(7);
  const Tensor w = randn(r.out.shape(), r.out.dtype(), &g);
  sum(mul(r.out, w)).backward();
  for (const Tensor& t : leaves) r.grads.push_back(t.requires_grad() ? t.grad() : Tensor());
  return r;
}

void check_same(const Fn& fn, const TensorList& inputs, double tol) {
  const Run a = run(fn, inputs, true), b = run(fn, inputs, false);
  CHECK(a.out.shape() == b.out.shape());
  CHECK(max_abs_diff(a.out, b.out) <= tol);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad()) continue;
    INFO("input " << i);
    REQUIRE(a.grads[i].defined());
    CHECK(max_abs_diff(a.grads[i], b.grads[i]) <= tol);
  }
}

void check_grad(const Fn& fn, const TensorList& inputs) {
  const GradcheckResult r = gradcheck(fn, inputs);
  CHECK_MESSAGE(r.ok, r.message);
}

Tensor leaf(const Shape& s, DType dt = kFloat64) {
  return randn(s, dt).requires_grad_();
}

}  // namespace

TEST_CASE("fused rms_norm equals the composed LlamaRMSNorm math and its gradient") {
  manual_seed(1);
  const Fn with_w = [](const TensorList& in) { return F::rms_norm(in[0], in[1], 1e-6); };
  const Fn no_w = [](const TensorList& in) { return F::rms_norm(in[0], Tensor(), 1e-5); };
  check_same(with_w, {leaf({3, 5, 7}), leaf({7})}, 1e-12);
  check_same(no_w, {leaf({4, 9})}, 1e-12);
  check_same(with_w, {leaf({3, 5, 33}, kFloat32), leaf({33}, kFloat32)}, 2e-5);
  check_grad(with_w, {leaf({2, 3, 6}), leaf({6})});
  check_grad(no_w, {leaf({3, 4})});
  // empty inputs: no rows, or rows of nothing (the composed path's NaN-free empty result)
  CHECK(F::rms_norm(randn({0, 4}), ones({4})).shape() == Shape{0, 4});
  CHECK(F::rms_norm(randn({3, 0}), ones({0})).shape() == Shape{3, 0});
  // a transposed (non-contiguous) input and a frozen weight
  const Fn transposed = [](const TensorList& in) { return F::rms_norm(in[0].transpose(0, 1), in[1]); };
  check_same(transposed, {leaf({6, 4}), randn({6}, kFloat64)}, 1e-12);
}

TEST_CASE("fused rotary embedding equals x * cos + rotate_half(x) * sin, for q laid out [B, T, H, D]") {
  manual_seed(2);
  const std::int64_t B = 2, T = 5, H = 3, D = 8;
  for (const std::int64_t cb : {std::int64_t{1}, B}) {
    INFO("cos batch " << cb);
    const Tensor cos = randn({cb, T, D}, kFloat64), sin = randn({cb, T, D}, kFloat64);
    const Fn fn = [&](const TensorList& in) {
      // q as the attention builds it: a [B, T, H, D] projection viewed [B, H, T, D]
      Tensor q = in[0].transpose(1, 2);
      auto [qe, ke] = F::apply_rotary_pos_emb(q, in[1], cos, sin);
      return add(qe, mul(ke, 0.5));
    };
    check_same(fn, {leaf({B, T, H, D}), leaf({B, H, T, D})}, 1e-12);
    check_grad(fn, {leaf({B, T, H, D}), leaf({B, H, T, D})});
    const Tensor c32 = cos.to(kFloat32), s32 = sin.to(kFloat32);
    const Fn fn32 = [&](const TensorList& in) { return F::apply_rotary_pos_emb(in[0], in[0], c32, s32).first; };
    check_same(fn32, {leaf({B, H, T, D}, kFloat32)}, 1e-5);
  }
}

TEST_CASE("fused silu_mul equals silu(gate) * up, gradients to either or both inputs") {
  manual_seed(3);
  const Fn fn = [](const TensorList& in) { return F::silu_mul(in[0], in[1]); };
  // more than one 1024-element block, with large |gate| where sigmoid saturates
  Tensor gate = mul(randn({3, 700}, kFloat64), 6.0).requires_grad_();
  check_same(fn, {gate, leaf({3, 700})}, 1e-12);
  check_same(fn, {gate, randn({3, 700}, kFloat64)}, 1e-12);
  check_same(fn, {randn({3, 700}, kFloat64), leaf({3, 700})}, 1e-12);
  check_same(fn, {leaf({5, 301}, kFloat32), leaf({5, 301}, kFloat32)}, 1e-5);
  check_grad(fn, {leaf({4, 5}), leaf({4, 5})});
  CHECK(F::silu_mul(randn({0, 3}), randn({0, 3})).shape() == Shape{0, 3});
  CHECK(max_abs_diff(F::silu_mul(tensor<float>({-100.f, 0.f, 100.f}, {3}), full({3}, 2.0, kFloat32)),
                     tensor<float>({0.f, 0.f, 200.f}, {3})) == 0.0);
}

TEST_CASE("fused cross_entropy equals the composed loss for every reduction, with ignored rows") {
  manual_seed(4);
  const Tensor target = tensor<std::int64_t>({3, -100, 0, 6, 2, -100, 6}, {7});
  for (const char* red : {"mean", "sum", "none"}) {
    INFO("reduction " << red);
    const Fn fn = [&](const TensorList& in) { return F::cross_entropy(in[0], target, Tensor(), -100, red); };
    check_same(fn, {mul(randn({7, 7}, kFloat64), 4.0).requires_grad_()}, 1e-12);
    check_same(fn, {leaf({7, 1000}, kFloat32)}, 1e-5);
    check_grad(fn, {leaf({7, 7})});
  }
  // [N, C, d] inputs go through the same rows
  const Tensor t2 = tensor<std::int64_t>({1, 0, 2, 2, -100, 1}, {2, 3});
  const Fn fn2 = [&](const TensorList& in) { return F::cross_entropy(in[0], t2); };
  check_same(fn2, {leaf({2, 4, 3})}, 1e-12);
  // no rows at all: a sum of nothing is 0
  CHECK(F::cross_entropy(randn({0, 3}), empty({0}, kInt64), Tensor(), -100, "sum").item<double>() == 0.0);
  // every row ignored: a mean over nothing is NaN, as in torch
  const Tensor none = full({2}, -100.0, kInt64);
  CHECK(std::isnan(F::cross_entropy(randn({2, 3}), none).item<double>()));
  // out-of-range targets are still an error that names the range
  CHECK_THROWS_WITH_AS(F::cross_entropy(randn({2, 3}), tensor<std::int64_t>({0, 3}, {2})),
                       doctest::Contains("classes"), IndexError);
}

TEST_CASE("fused Adam and AdamW steps equal the composed update, for every option") {
  struct Case {
    bool decoupled, amsgrad, maximize;
    double wd;
  };
  for (const Case c : {Case{true, false, false, 0.01}, Case{true, true, false, 0.1}, Case{false, false, true, 0.05},
                       Case{false, true, false, 0.0}}) {
    INFO("decoupled " << c.decoupled << " amsgrad " << c.amsgrad << " maximize " << c.maximize);
    for (const DType dt : {kFloat64, kFloat32}) {
      TensorList result;
      for (const bool fused : {true, false}) {
        std::optional<FusedKernelsDisabled> off;
        if (!fused) off.emplace();
        manual_seed(5);
        Tensor p = randn({37, 3}, dt).requires_grad_();
        nn::optim::AdamOptions o;
        o.lr = 0.05;
        o.weight_decay = c.wd;
        o.amsgrad = c.amsgrad;
        o.maximize = c.maximize;
        std::unique_ptr<nn::optim::Optimizer> opt;
        if (c.decoupled) {
          nn::optim::AdamWOptions w;
          static_cast<nn::optim::AdamOptions&>(w) = o;
          opt = std::make_unique<nn::optim::AdamW>(TensorList{p}, w);
        } else {
          opt = std::make_unique<nn::optim::Adam>(TensorList{p}, o);
        }
        for (int step = 0; step < 4; ++step) {
          // a gradient whose magnitude shrinks, so amsgrad's running max matters
          sum(mul(square(p), 1.0 / (1.0 + step))).backward();
          opt->step();
          opt->zero_grad();
        }
        result.push_back(p.detach());
      }
      CHECK(max_abs_diff(result[0], result[1]) <= (dt == kFloat64 ? 1e-14 : 1e-6));
    }
  }
}
