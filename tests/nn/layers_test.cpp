// Layer forwards against hand-computed values or independent compositions, and initialisation.
#include <doctest/doctest.h>

#include <cmath>

#include "nn/nn.h"

using namespace peftcpp;
using namespace peftcpp::nn;

TEST_CASE("Linear computes x W^T + b on a batch of sequences") {
  Linear lin(2, 3);
  lin.load_state_dict(
      {{"weight", tensor<float>({1, 2, 3, 4, 5, 6}, {3, 2})}, {"bias", tensor<float>({1, 0, -1})}});
  Tensor x = tensor<float>({1, 1, 2, -1}, {1, 2, 2});
  // [1,1] -> [1+2+1, 3+4, 5+6-1]; [2,-1] -> [2-2+1, 6-4, 10-6-1]
  CHECK(lin.forward(x).to_vector<float>() == std::vector<float>{4, 7, 10, 1, 2, 3});
  CHECK(lin.forward(x).shape() == Shape{1, 2, 3});
}

TEST_CASE(
    "Linear default init follows kaiming_uniform(a=sqrt(5)): |w|, |b| <= 1/sqrt(fan_in), seeded") {
  Generator g1(7), g2(7);
  Linear a(16, 32, true, {.generator = &g1}), b(16, 32, true, {.generator = &g2});
  CHECK(max_abs_diff(a.weight, b.weight) == 0.0);
  const double bound = 1.0 / std::sqrt(16.0);
  CHECK(amax(abs(a.weight)).item<double>() <= bound);
  CHECK(amax(abs(a.bias)).item<double>() <= bound);
  // uniform on [-b, b]: variance b^2 / 3
  CHECK(std::abs(var(a.weight).item<double>() - bound * bound / 3.0) < 0.2 * bound * bound / 3.0);
  CHECK(a.weight.requires_grad());
  Linear c(4, 4, false, {.dtype = kBFloat16});
  CHECK(c.weight.dtype() == kBFloat16);
  CHECK_FALSE(c.bias.defined());
  CHECK(c.named_parameters().size() == 1);
}

TEST_CASE("transformers Conv1D is x @ W + b with W stored [in, out]") {
  Conv1D c(3, 2);  // nf = 3 outputs, nx = 2 inputs
  CHECK(c.weight.shape() == Shape{2, 3});
  CHECK(sum(abs(c.bias)).item<float>() == 0.0f);
  c.load_state_dict(
      {{"weight", tensor<float>({1, 2, 3, 4, 5, 6}, {2, 3})}, {"bias", tensor<float>({0, 1, 2})}});
  CHECK(
      c.forward(tensor<float>({1, 2}, {1, 2})).to_vector<float>() == std::vector<float>{9, 13, 17});
  Linear lin(2, 3);
  lin.load_state_dict({{"weight", c.weight.t().contiguous()}, {"bias", c.bias}});
  Tensor x = randn({4, 5, 2});
  CHECK(max_abs_diff(c.forward(x), lin.forward(x)) < 1e-6);
}

TEST_CASE("Embedding picks rows and keeps the padding row at zero with no gradient") {
  Embedding emb(5, 3, -1);  // padding_idx -1 -> 4
  CHECK(*emb.padding_idx == 4);
  CHECK(sum(abs(emb.weight.select(0, 4))).item<float>() == 0.0f);
  Tensor ids = tensor<std::int64_t>({1, 4, 1, 0}, {2, 2});
  Tensor out = emb.forward(ids);
  CHECK(out.shape() == Shape{2, 2, 3});
  CHECK(max_abs_diff(out.select(0, 0).select(0, 0), emb.weight.select(0, 1)) == 0.0);
  sum(mul(out, 2.0)).backward();
  const std::vector<float> g = emb.weight.grad().to_vector<float>();
  const std::vector<float> expected = {2, 2, 2, 4, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  CHECK(g == expected);  // row 1 used twice, row 4 is padding
  CHECK_THROWS_AS(emb.forward(tensor<std::int64_t>({5})), IndexError);
}

TEST_CASE("LayerNorm matches the textbook formula and handles bias=false") {
  LayerNorm ln(4, 1e-5);
  ln.weight.detach().copy_(tensor<float>({1, 2, 3, 4}));
  ln.bias.detach().copy_(tensor<float>({0, 0, 1, 1}));
  Tensor x = tensor<float>({1, 2, 3, 4}, {1, 4});
  // mean 2.5, biased var 1.25
  const double s = 1.0 / std::sqrt(1.25 + 1e-5);
  std::vector<float> y = ln.forward(x).to_vector<float>();
  std::vector<double> want = {-1.5 * s * 1, -0.5 * s * 2, 0.5 * s * 3 + 1, 1.5 * s * 4 + 1};
  for (int i = 0; i < 4; ++i) CHECK(y[i] == doctest::Approx(want[i]).epsilon(1e-5));
  LayerNorm nb(4, 1e-5, true, false);
  CHECK_FALSE(nb.bias.defined());
  CHECK(nb.named_parameters().size() == 1);
  LayerNorm plain(Shape{2, 2}, 1e-5, false);
  CHECK(plain.parameters().empty());
  CHECK(plain.forward(x.reshape({1, 2, 2})).shape() == Shape{1, 2, 2});
}

TEST_CASE("RMSNorm is x * rsqrt(mean(x^2) + eps) * w and computes bf16 inputs in float32") {
  RMSNorm n(2, 1e-6);
  n.weight.detach().copy_(tensor<float>({2, 0.5}));
  Tensor x = tensor<float>({3, 4}, {1, 2});
  const double r = 1.0 / std::sqrt((9.0 + 16.0) / 2.0 + 1e-6);
  std::vector<float> y = n.forward(x).to_vector<float>();
  CHECK(y[0] == doctest::Approx(3 * r * 2));
  CHECK(y[1] == doctest::Approx(4 * r * 0.5));
  Tensor xb = x.to(kBFloat16);
  Tensor yb = n.forward(xb);
  CHECK(yb.dtype() == kFloat32);  // float32 weight * bf16 -> float32, as HF
  CHECK(max_abs_diff(yb, functional::rms_norm(x, n.weight).to(kBFloat16).to(kFloat32)) < 1e-6);
}

TEST_CASE("Dropout scales kept elements by 1/(1-p), is seeded, and is the identity in eval") {
  Dropout d(0.25);
  Tensor x = ones({1000});
  manual_seed(3);
  Tensor y1 = d.forward(x);
  manual_seed(3);
  Tensor y2 = d.forward(x);
  CHECK(max_abs_diff(y1, y2) == 0.0);
  const std::vector<float> v = y1.to_vector<float>();
  int kept = 0;
  for (float e : v) {
    CHECK((e == 0.0f || std::abs(e - 1.0f / 0.75f) < 1e-6f));
    kept += e != 0.0f;
  }
  CHECK(kept > 700);
  CHECK(kept < 800);
  d.eval();
  CHECK(d.forward(x).is_same(x));
  CHECK(sum(functional::dropout(x, 1.0)).item<float>() == 0.0f);
}

TEST_CASE("get_activation maps transformers ACT2FN names to the right functions") {
  Tensor x = tensor<float>({-2, -0.5, 0, 0.5, 3});
  auto close = [&](const std::string& name, const Tensor& want) {
    INFO(name);
    CHECK(max_abs_diff(get_activation(name)->forward(x), want) < 1e-6);
  };
  close("silu", mul(x, sigmoid(x)));
  close("swish", mul(x, sigmoid(x)));
  close("relu", clamp_min(x, 0.0));
  close("gelu", mul(mul(x, 0.5), add(erf(div(x, std::sqrt(2.0))), 1.0)));
  const double c = std::sqrt(2.0 / M_PI);
  Tensor inner = mul(add(x, mul(pow(x, 3.0), 0.044715)), c);
  close("gelu_new", mul(mul(x, 0.5), add(tanh(inner), 1.0)));
  close("gelu_pytorch_tanh", mul(mul(x, 0.5), add(tanh(inner), 1.0)));
  close("quick_gelu", mul(x, sigmoid(mul(x, 1.702))));
  close("relu6", clamp(x, 0.0, 6.0));
  close("tanh", tanh(x));
  close("linear", x);
  CHECK(get_activation("gelu_new")->type_name() == "NewGELUActivation");
  CHECK_THROWS_WITH_AS(get_activation("gelu_fancy"), doctest::Contains("silu"), ValueError);
}
