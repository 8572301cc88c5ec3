// The autograd engine: accumulation, retain_graph, grad mode, detach, hooks, retain_grad, saved
// tensor version checks, grad(), multi-output ops and the error paths.
#include <doctest/doctest.h>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "tensor/ops.h"
#include "test_helpers.h"

using namespace peftcpp;
using peftcpp::testing::values;

namespace {
Tensor leaf(const std::vector<double>& v, Shape s = {}) {
  if (s.empty())
    s = {static_cast<std::int64_t>(v.size())};
  return tensor<double>(v, s).requires_grad_();
}
}  // namespace

TEST_CASE("backward accumulates into .grad across calls, and diamonds sum their branches") {
  Tensor x = leaf({1, 2, 3});
  sum(mul(x, x)).backward();
  CHECK(values(x.grad()) == std::vector<double>{2, 4, 6});
  sum(mul(x, 3.0)).backward();
  CHECK(values(x.grad()) == std::vector<double>{5, 7, 9});
  x.set_grad(Tensor());
  CHECK_FALSE(x.grad().defined());
  // x feeds two branches that meet again
  Tensor a = exp(x), b = mul(x, 2.0);
  sum(mul(a, b)).backward();  // d/dx (2 x e^x) = 2 e^x (1 + x)
  CHECK_VALUES(x.grad(), {2 * std::exp(1.0) * 2, 2 * std::exp(2.0) * 3, 2 * std::exp(3.0) * 4});
  // the leaf's grad is not aliased to any temporary
  CHECK(x.grad().storage() != x.storage());
}

TEST_CASE("backward needs a scalar or an explicit gradient of the output's shape") {
  Tensor x = leaf({1, 2});
  Tensor y = mul(x, x);
  CHECK_THROWS_WITH_PARTS(ValueError, y.backward(), "[backward]", "scalar", "[2]");
  CHECK_THROWS_WITH_PARTS(
      ShapeError, y.backward(tensor<double>({1, 1, 1})), "[backward]", "[3]", "[2]");
  y.backward(tensor<double>({1, 10}));
  CHECK(values(x.grad()) == std::vector<double>{2, 40});
  Tensor c = tensor<double>({1, 2});
  CHECK_THROWS_WITH_PARTS(ValueError, sum(c).backward(), "[backward]", "does not require grad");
}

TEST_CASE("a second backward through a freed graph fails clearly; retain_graph keeps it") {
  Tensor x = leaf({1, 2});
  Tensor loss = sum(exp(x));
  loss.backward(Tensor(), true);
  loss.backward();  // graph retained by the first call
  CHECK_VALUES(x.grad(), {2 * std::exp(1.0), 2 * std::exp(2.0)});
  CHECK_THROWS_WITH_PARTS(ValueError, loss.backward(), "[autograd]", "second time", "retain_graph");
}

TEST_CASE("no_grad and enable_grad scopes; detach cuts history but shares storage") {
  Tensor x = leaf({1, 2});
  {
    NoGradGuard ng;
    Tensor y = mul(x, 2.0);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
    {
      EnableGradGuard eg;
      CHECK(mul(x, 2.0).requires_grad());
    }
    CHECK_FALSE(GradMode::is_enabled());
    x.add_(tensor<double>({1, 1}));  // parameter update: allowed without grad mode
  }
  CHECK(GradMode::is_enabled());
  CHECK(values(x) == std::vector<double>{2, 3});
  Tensor d = x.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  CHECK(d.storage() == x.storage());
  Tensor y = add(mul(d, x), 0.0);
  sum(y).backward();
  CHECK(values(x.grad()) == std::vector<double>{2, 3});  // only through the non-detached factor
}

TEST_CASE("requires_grad rules: only floats, not turned off on non-leaves") {
  Tensor i = tensor<std::int64_t>({1, 2});
  CHECK_THROWS_WITH_PARTS(DTypeError, i.requires_grad_(), "[requires_grad_]", "int64");
  Tensor x = leaf({1});
  Tensor y = mul(x, 2.0);
  CHECK_FALSE(y.is_leaf());
  CHECK(y.grad_fn() != nullptr);
  CHECK(y.grad_fn()->name() == "AffineBackward");
  CHECK_THROWS_WITH_PARTS(ValueError, y.requires_grad_(false), "[requires_grad_]", "non-leaf");
  x.requires_grad_(false);
  CHECK_FALSE(mul(x, 2.0).requires_grad());
  CHECK_THROWS_WITH_PARTS(ShapeError, x.set_grad(zeros({2}, kFloat64)), "[set_grad]", "[2]", "[1]");
  // integer outputs of a differentiable op carry no gradient
  Tensor z = leaf({3, 1, 2});
  CHECK_FALSE(argmax(z, 0).requires_grad());
  CHECK_FALSE(max(z, 0).second.requires_grad());
  CHECK(max(z, 0).first.requires_grad());
  CHECK_FALSE(gt(z, 1.0).requires_grad());
}

TEST_CASE("in-place changes to a tensor saved for backward are detected") {
  Tensor x = leaf({1, 2});
  Tensor w = tensor<double>({3, 4});  // constant saved by mul for x's gradient
  Tensor y = sum(mul(x, w));
  w.fill_(0.0);
  CHECK_THROWS_WITH_PARTS(
      ValueError, y.backward(), "[autograd]", "modified in place", "mul", "[2]");
  // a modification through a view of the saved tensor is detected too (shared version counter)
  Tensor base = tensor<double>({1, 2, 3, 4});
  Tensor y2 = sum(mul(x, base.slice(0, 0, 2)));
  base.select(0, 3).fill_(9.0);
  CHECK_THROWS_WITH_PARTS(ValueError, y2.backward(), "modified in place");
  // a saved output (exp saves its result) modified through detach()
  Tensor e = exp(x);
  Tensor y3 = sum(e);
  e.detach().mul_(2.0);
  CHECK_THROWS_WITH_PARTS(ValueError, y3.backward(), "modified in place", "exp");
  // a graph built after the modification is fine
  CHECK_NOTHROW(sum(exp(x)).backward());
}

TEST_CASE("in-place ops on tensors that require grad are rejected") {
  Tensor x = leaf({1, 2});
  CHECK_THROWS_WITH_PARTS(
      ValueError, x.add_(tensor<double>({1, 1})), "[add_]", "requires grad", "NoGradGuard");
  CHECK_THROWS_WITH_PARTS(ValueError, x.mul_(2.0), "[mul_]", "requires grad");
  CHECK_THROWS_WITH_PARTS(ValueError, x.fill_(0.0), "[fill_]", "requires grad");
  CHECK_THROWS_WITH_PARTS(ValueError, x.zero_(), "[fill_]");
  CHECK_THROWS_WITH_PARTS(ValueError, x.copy_(tensor<double>({0, 0})), "[copy_]");
  Tensor y = mul(x, 2.0);
  CHECK_THROWS_WITH_PARTS(ValueError, y.select(0, 0).fill_(1.0), "[fill_]", "requires grad");
  CHECK_THROWS_WITH_PARTS(ValueError, y.mul_(tensor<double>({1, 1})), "[mul_]");
}

TEST_CASE("hooks on leaves and non-leaves see the gradient and may replace it") {
  Tensor x = leaf({1, 2});
  std::vector<double> seen;
  const int id = x.register_hook([&](const Tensor& g) {
    seen = values(g);
    return Tensor();  // keep
  });
  // x used twice: the hook runs once on the summed gradient
  sum(add(mul(x, 2.0), mul(x, 3.0))).backward();
  CHECK(seen == std::vector<double>{5, 5});
  CHECK(values(x.grad()) == std::vector<double>{5, 5});
  x.remove_hook(id);
  x.set_grad(Tensor());
  x.register_hook([](const Tensor& g) { return mul(g, 10.0); });
  sum(x).backward();
  CHECK(values(x.grad()) == std::vector<double>{10, 10});

  Tensor a = leaf({1, 2, 3});
  Tensor h = mul(a, 2.0);
  int calls = 0;
  h.register_hook([&](const Tensor& g) {
    ++calls;
    return mul(g, -1.0);
  });
  sum(mul(h, h)).backward();  // dL/dh = 2h = [4, 8, 12], negated by the hook, times 2 for a
  CHECK(calls == 1);
  CHECK(values(a.grad()) == std::vector<double>{-8, -16, -24});
  const int hid = h.register_hook([](const Tensor& g) { return mul(g, 0.0); });
  h.remove_hook(hid);
  Tensor c = tensor<double>({1});
  CHECK_THROWS_WITH_PARTS(
      ValueError, c.register_hook([](const Tensor& g) { return g; }), "[register_hook]");
}

TEST_CASE("retain_grad keeps the gradient of a non-leaf") {
  Tensor x = leaf({1, 2});
  Tensor y = mul(x, 3.0);
  Tensor z = mul(x, 3.0);
  y.retain_grad();
  sum(mul(y, y)).backward();
  CHECK(values(y.grad()) == std::vector<double>{6, 12});
  CHECK(values(x.grad()) == std::vector<double>{18, 36});
  sum(z).backward();
  CHECK_FALSE(z.grad().defined());  // not retained
  CHECK_THROWS_WITH_PARTS(ValueError, tensor<double>({1}).retain_grad(), "[retain_grad]");
  // retain_grad on a leaf is a no-op; accumulation keeps working
  x.retain_grad();
  Tensor w = mul(x, 1.0);
  w.retain_grad();
  sum(w).backward(Tensor(), true);
  sum(w).backward();
  CHECK(values(w.grad()) == std::vector<double>{2, 2});
}

TEST_CASE("grad() returns gradients without touching .grad; allow_unused") {
  Tensor x = leaf({1, 2}), u = leaf({5});
  Tensor y = sum(mul(x, x));
  TensorList g = grad({y}, {x}, {}, true);
  CHECK(values(g[0]) == std::vector<double>{2, 4});
  CHECK_FALSE(x.grad().defined());
  CHECK_THROWS_WITH_PARTS(
      ValueError, grad({y}, {x, u}, {}, true), "[grad]", "input 1", "[1]", "allow_unused");
  TensorList g2 = grad({y}, {x, u}, {}, true, true);
  CHECK(g2[0].defined());
  CHECK_FALSE(g2[1].defined());
  // gradient w.r.t. a non-leaf
  Tensor h = mul(x, 2.0);
  Tensor z = sum(mul(h, h));
  TensorList gh = grad({z}, {h});
  CHECK(values(gh[0]) == std::vector<double>{4, 8});
  // explicit output gradient and several outputs
  Tensor o1 = mul(x, 2.0), o2 = mul(x, x);
  TensorList go = grad({o1, o2}, {x}, {tensor<double>({1, 0}), tensor<double>({0, 1})});
  CHECK(values(go[0]) == std::vector<double>{2, 4});
  CHECK_THROWS_WITH_PARTS(
      ValueError, grad({y}, {tensor<double>({1})}), "[grad]", "does not require grad");
}

TEST_CASE(
    "grad() returns hooked gradients; retain_grad sees the gradient after hooks (PyTorch order)") {
  Tensor x = leaf({1, 2});
  Tensor h = mul(x, 2.0);
  h.register_hook([](const Tensor& g) { return mul(g, 10.0); });
  TensorList gh = grad({sum(h)}, {h});
  CHECK(values(gh[0]) == std::vector<double>{10, 10});
  x.register_hook([](const Tensor& g) { return add(g, 1.0); });
  TensorList gx = grad({sum(mul(x, 3.0))}, {x});
  CHECK(values(gx[0]) == std::vector<double>{4, 4});
  CHECK_FALSE(x.grad().defined());
  Tensor y = mul(x, 1.0);
  y.retain_grad();
  y.register_hook([](const Tensor& g) { return mul(g, 2.0); });
  sum(y).backward();
  CHECK(values(y.grad()) == std::vector<double>{2, 2});
  CHECK(values(x.grad()) == std::vector<double>{3, 3});  // hooked 2, plus x's own hook
}

TEST_CASE("multi-output ops: max values carry the gradient to the arg-max positions") {
  Tensor x = leaf({1, 5, 2, 7, 3, 0}, {2, 3});
  auto [v, i] = max(x, 1);
  sum(mul(v, tensor<double>({1, 10}))).backward();
  CHECK(values(x.grad()) == std::vector<double>{0, 1, 0, 10, 0, 0});
  Tensor y = leaf({4, 1, 4});
  auto [vmin, imin] = min(y, 0, true);
  vmin.sum().backward();
  CHECK(values(y.grad()) == std::vector<double>{0, 1, 0});
  // both outputs used downstream; only the float one is differentiable
  Tensor z = leaf({3, 9, 1});
  auto [vz, iz] = max(z, 0);
  Tensor loss = add(vz, iz.to(kFloat64));
  loss.backward();
  CHECK(values(z.grad()) == std::vector<double>{0, 1, 0});
}

TEST_CASE("gradients are converted back through dtype changes and broadcasting") {
  Tensor x = tensor<float>({1, 2}).requires_grad_();
  Tensor y = sum(mul(x.to(kFloat64), tensor<double>({3, 4})));
  y.backward();
  CHECK(x.grad().dtype() == kFloat32);
  CHECK(values(x.grad()) == std::vector<double>{3, 4});
  Tensor b = leaf({1, 2, 3});
  Tensor m = leaf({1, 1, 1, 1, 1, 1}, {2, 3});
  sum(mul(add(m, b), 2.0)).backward();
  CHECK(values(b.grad()) == std::vector<double>{4, 4, 4});
  CHECK(values(m.grad()) == std::vector<double>(6, 2.0));
  Tensor s = tensor<double>({2.0}, {}).requires_grad_();  // 0-d
  sum(mul(m.detach(), s)).backward();
  CHECK(s.grad().dim() == 0);
  CHECK(s.grad().item<double>() == 6);
}
