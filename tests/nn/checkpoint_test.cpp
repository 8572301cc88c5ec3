// Activation checkpointing gives the same gradients as plain backward.
#include <doctest/doctest.h>

#include "autograd/node.h"
#include "nn/nn.h"

using namespace peftcpp;
using namespace peftcpp::nn;

TEST_CASE(
    "checkpointed block: same output and same input and parameter gradients as plain backward") {
  Generator g(11);
  auto l1 = std::make_shared<Linear>(4, 8, true, FactoryOptions{.generator = &g});
  auto l2 = std::make_shared<Linear>(8, 4, true, FactoryOptions{.generator = &g});
  auto block = [&](const TensorList& in) { return l2->forward(gelu(l1->forward(in[0]))); };
  Tensor x = randn({3, 4}).requires_grad_();
  Tensor y_plain = block({x});
  sum(mul(y_plain, y_plain)).backward();
  const Tensor gx = x.grad().clone(), gw1 = l1->weight.grad().clone(),
               gb2 = l2->bias.grad().clone();
  x.set_grad(Tensor());
  l1->zero_grad();
  l2->zero_grad();
  Tensor y_ck = checkpoint(block, {x});
  CHECK(max_abs_diff(y_ck, y_plain) == 0.0);
  CHECK(y_ck.grad_fn()->name() == "CheckpointBackward");
  sum(mul(y_ck, y_ck)).backward();
  CHECK(max_abs_diff(x.grad(), gx) < 1e-6);
  CHECK(max_abs_diff(l1->weight.grad(), gw1) < 1e-6);
  CHECK(max_abs_diff(l2->bias.grad(), gb2) < 1e-6);
}

TEST_CASE("checkpoint replays dropout with the same random stream in the recomputation") {
  auto l1 = std::make_shared<Linear>(6, 6);
  auto drop = std::make_shared<Dropout>(0.5);
  auto block = [&](const TensorList& in) { return drop->forward(l1->forward(in[0])); };
  Tensor x = randn({4, 6}).requires_grad_();
  manual_seed(21);
  Tensor y_plain = block({x});
  sum(y_plain).backward();
  const Tensor gw = l1->weight.grad().clone();
  l1->zero_grad();
  manual_seed(21);
  Tensor y_ck = checkpoint(block, {x});
  CHECK(max_abs_diff(y_ck, y_plain) == 0.0);
  sum(y_ck).backward();
  CHECK(max_abs_diff(l1->weight.grad(), gw) < 1e-6);
}

TEST_CASE("checkpoint_multi handles several inputs and outputs, some without grad") {
  Tensor a = randn({2, 3}).requires_grad_(), b = randn({2, 3});
  auto fn = [](const TensorList& in) { return TensorList{mul(in[0], in[1]), exp(in[0])}; };
  TensorList outs = checkpoint_multi(fn, {a, b});
  add(sum(outs[0]), sum(outs[1])).backward();
  CHECK(max_abs_diff(a.grad(), add(b, exp(a.detach()))) < 1e-6);
  // no input requires grad: nothing is recorded (as torch's reentrant checkpoint)
  CHECK_FALSE(checkpoint_multi(fn, {b, b})[0].requires_grad());
}
