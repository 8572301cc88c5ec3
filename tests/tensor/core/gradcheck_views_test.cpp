// Float64 gradcheck of every view in tensor.h, plus to(dtype), clone and contiguous.
#include <doctest/doctest.h>

#include "gradcheck_helpers.h"

using namespace peftcpp;
using namespace peftcpp::testing;

namespace {
// Weights the view's elements differently so that a wrong placement of gradients shows up.
Tensor weigh(const Tensor& v) {
  Tensor w = arange(1.0, static_cast<double>(v.numel()) + 1.0, 1.0, kFloat64).reshape(v.shape());
  return mul(v, w);
}
}  // namespace

TEST_CASE("gradcheck: shape views") {
  Tensor a = gc_randn({2, 3, 4}, 201);
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> views = {
      {"view",
       [](const Tensor& x) {
         return x.view({6, 4});
       }},
      {"view -1", [](const Tensor& x) { return x.view({-1}); }},
      {"reshape",
       [](const Tensor& x) {
         return x.reshape({4, -1});
       }},
      {"reshape of transposed (copy)",
       [](const Tensor& x) { return x.transpose(0, 2).reshape({-1}); }},
      {"permute",
       [](const Tensor& x) {
         return x.permute({2, 0, 1});
       }},
      {"transpose", [](const Tensor& x) { return x.transpose(0, 1); }},
      {"mT", [](const Tensor& x) { return x.mT(); }},
      {"t", [](const Tensor& x) { return x.select(0, 1).t(); }},
      {"narrow", [](const Tensor& x) { return x.narrow(2, 1, 2); }},
      {"slice step", [](const Tensor& x) { return x.slice(2, 0, 4, 3); }},
      {"slice negative", [](const Tensor& x) { return x.slice(1, -2, 3); }},
      {"select", [](const Tensor& x) { return x.select(1, -1); }},
      {"index operator", [](const Tensor& x) { return x[1]; }},
      {"expand",
       [](const Tensor& x) {
         return x.narrow(1, 0, 1).expand({5, 2, 3, 4});
       }},
      {"expand_as", [](const Tensor& x) { return x.narrow(2, 0, 1).expand_as(x); }},
      {"squeeze", [](const Tensor& x) { return x.narrow(1, 2, 1).squeeze(); }},
      {"squeeze dim", [](const Tensor& x) { return x.narrow(1, 2, 1).squeeze(1); }},
      {"unsqueeze", [](const Tensor& x) { return x.unsqueeze(1); }},
      {"flatten", [](const Tensor& x) { return x.flatten(1); }},
      {"flatten of permuted (copy)",
       [](const Tensor& x) {
         return x.permute({1, 0, 2}).flatten(0, 1);
       }},
      {"unflatten",
       [](const Tensor& x) {
         return x.unflatten(2, {2, 2});
       }},
      {"chain",
       [](const Tensor& x) {
         return x.transpose(1, 2).slice(0, 1, 2).unsqueeze(0).flatten(2).select(2, 5);
       }},
      {"contiguous",
       [](const Tensor& x) {
         return x.permute({1, 2, 0}).contiguous();
       }},
      {"clone", [](const Tensor& x) { return mul(x.clone(), x); }},
  };
  for (const auto& [name, fn] : views) {
    expect_gradcheck(name, [fn](const TensorList& x) { return weigh(fn(x[0])); }, {a});
  }
}

TEST_CASE("gradcheck: to(dtype) round trips through float32 and bfloat16") {
  Tensor a = gc_randn({3, 4}, 211);
  GradcheckOptions o;
  o.eps = 1e-2;  // the float32 / bfloat16 round trip quantises the input
  o.atol = 1e-2;
  o.rtol = 1e-2;
  expect_gradcheck(
      "to float32",
      [](const TensorList& x) { return weigh(x[0].to(kFloat32).to(kFloat64)); },
      {a},
      o);
  o.eps = 0.25;
  o.atol = 0.05;
  Tensor grid = tensor<double>({0.5, 1.0, -2.0, 4.0}).requires_grad_();  // exactly representable
  expect_gradcheck(
      "to bfloat16",
      [](const TensorList& x) { return weigh(x[0].to(kBFloat16).to(kFloat64)); },
      {grid},
      o);
}
