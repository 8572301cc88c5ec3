// lora_linear: x W^T + b + s (x_a A^T) B^T in accumulating GEMMs equals the composed linears,
// forward and backward, whether x_a is x itself or another tensor, with or without a bias and a
// trainable base weight; float64 finite differences; bad shapes name the operands.
#include <doctest/doctest.h>

#include "autograd/engine.h"
#include "autograd/gradcheck.h"
#include "tensor/ops.h"

using namespace peftcpp;

namespace {

Tensor leaf(const Shape& shape, std::uint64_t seed, DType dt = kFloat64) {
  Generator g(seed);
  return randn(shape, dt, &g).requires_grad_();
}

Tensor composed(const TensorList& in, bool shared, bool with_bias, double s) {
  const Tensor& xa = shared ? in[0] : in[5];
  return add(linear(in[0], in[1], with_bias ? in[4] : Tensor()), mul(linear(linear(xa, in[2]), in[3]), s));
}

Tensor fused(const TensorList& in, bool shared, bool with_bias, double s) {
  return lora_linear(in[0], in[1], with_bias ? in[4] : Tensor(), shared ? in[0] : in[5], in[2], in[3], s);
}

// in: x [2, 3, 5], W [4, 5], A [2, 5], B [4, 2], bias [4], x_a [2, 3, 5]
TensorList inputs(DType dt, bool base_trainable) {
  TensorList in{leaf({2, 3, 5}, 1, dt), leaf({4, 5}, 2, dt), leaf({2, 5}, 3, dt),
                leaf({4, 2}, 4, dt),    leaf({4}, 5, dt),    leaf({2, 3, 5}, 6, dt)};
  if (!base_trainable) in[1] = in[1].detach();
  return in;
}

}  // namespace

TEST_CASE("lora_linear equals base + scaled adapter linears, values and every gradient") {
  for (const bool shared : {true, false}) {
    for (const bool with_bias : {true, false}) {
      for (const bool base_trainable : {true, false}) {
        INFO("shared " << shared << " bias " << with_bias << " base trainable " << base_trainable);
        const TensorList in = inputs(kFloat64, base_trainable);
        const Tensor y = fused(in, shared, with_bias, 0.75);
        const Tensor want = composed(in, shared, with_bias, 0.75);
        CHECK(max_abs_diff(y, want) < 1e-12);
        const Tensor w = randn(y.shape(), kFloat64);
        TensorList wrt;  // the inputs that require grad (x_a is unused when shared)
        for (const Tensor& t : in)
          if (t.requires_grad()) wrt.push_back(t);
        const TensorList g1 = grad({sum(mul(y, w))}, wrt, {}, false, /*allow_unused=*/true);
        const TensorList g2 = grad({sum(mul(want, w))}, wrt, {}, false, true);
        for (std::size_t i = 0; i < wrt.size(); ++i) {
          INFO("input " << i);
          CHECK(g1[i].defined() == g2[i].defined());
          if (g1[i].defined()) CHECK(max_abs_diff(g1[i], g2[i]) < 1e-12);
        }
        const GradcheckResult r = gradcheck([&](const TensorList& t) { return fused(t, shared, with_bias, 0.75); }, in);
        CHECK_MESSAGE(r.ok, r.message);
      }
    }
  }
}

TEST_CASE("lora_linear in float32 and (through the composed path) bfloat16 on the CPU") {
  const TensorList in32 = inputs(kFloat32, false);
  CHECK(max_abs_diff(fused(in32, true, true, 2.0), composed(in32, true, true, 2.0)) < 1e-5);
  TensorList in16;
  for (const Tensor& t : in32) in16.push_back(t.detach().to(kBFloat16));
  const Tensor y = fused(in16, true, true, 2.0);
  CHECK(y.dtype() == kBFloat16);
  CHECK(max_abs_diff(y, composed(in16, true, true, 2.0)) == 0.0);
}

TEST_CASE("lora_linear on no tokens gives an empty output and empty gradients") {
  Tensor x = randn({0, 5}).requires_grad_(), a = randn({2, 5}).requires_grad_(), b = randn({4, 2}).requires_grad_();
  const Tensor y = lora_linear(x, randn({4, 5}), Tensor(), x, a, b, 2.0);
  CHECK(y.shape() == Shape{0, 4});
  sum(y).backward();
  CHECK(x.grad().shape() == Shape{0, 5});
  CHECK(max_abs_diff(a.grad(), zeros({2, 5})) == 0.0);
  CHECK(max_abs_diff(b.grad(), zeros({4, 2})) == 0.0);
}

TEST_CASE("lora_linear names mismatched shapes") {
  const Tensor x = randn({3, 5}), w = randn({4, 5}), a = randn({2, 5}), b = randn({4, 2});
  CHECK_THROWS_WITH_AS(lora_linear(x, w, Tensor(), x, randn({2, 6}), b, 1.0), doctest::Contains("do not fit"),
                       ShapeError);
  CHECK_THROWS_WITH_AS(lora_linear(randn({3, 6}), w, Tensor(), randn({3, 6}), a, b, 1.0),
                       doctest::Contains("does not match weight"), ShapeError);
  CHECK_THROWS_WITH_AS(lora_linear(x, w, Tensor(), randn({2, 5}), a, b, 1.0), doctest::Contains("adapter input"),
                       ShapeError);
  CHECK_THROWS_AS(lora_linear(x, w, Tensor(), x, a.to(kFloat64), b, 1.0), DTypeError);
}
