// nn::LSTM against hand-computed steps, its own building blocks (direction reversal, layer
// stacking, batch layouts) and float64 finite differences.
#include "nn/layers/lstm.h"

#include <doctest/doctest.h>

#include <cmath>

#include "autograd/gradcheck.h"
#include "tensor/ops.h"

using namespace peftcpp;

namespace {

double sig(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

using LstmPtr = std::shared_ptr<nn::LSTM>;

template <class... Args>
LstmPtr lstm(Args... args) {
  return std::make_shared<nn::LSTM>(args...);
}

void set_param(const LstmPtr& m, const std::string& name, const Tensor& value) {
  Tensor& p = m->get_parameter(name);
  REQUIRE(p.shape() == value.shape());
  p.detach().copy_(value.to(p.dtype()));
}

double max_diff(const Tensor& a, const Tensor& b) {
  return max_abs_diff(a.detach().to(kFloat64), b.detach().to(kFloat64));
}

}  // namespace

TEST_CASE("lstm parameters carry PyTorch's names, shapes and order") {
  auto m = lstm(3, 5, 2, true, true, 0.0, true);
  std::vector<std::string> names;
  for (const auto& [n, p] : m->named_parameters()) names.push_back(n);
  const std::vector<std::string> want{
      "weight_ih_l0",
      "weight_hh_l0",
      "bias_ih_l0",
      "bias_hh_l0",
      "weight_ih_l0_reverse",
      "weight_hh_l0_reverse",
      "bias_ih_l0_reverse",
      "bias_hh_l0_reverse",
      "weight_ih_l1",
      "weight_hh_l1",
      "bias_ih_l1",
      "bias_hh_l1",
      "weight_ih_l1_reverse",
      "weight_hh_l1_reverse",
      "bias_ih_l1_reverse",
      "bias_hh_l1_reverse"};
  CHECK(names == want);
  CHECK(m->get_parameter("weight_ih_l0").shape() == Shape{20, 3});
  CHECK(m->get_parameter("weight_ih_l1").shape() == Shape{20, 10});  // input = both directions
  CHECK(m->get_parameter("weight_hh_l1_reverse").shape() == Shape{20, 5});
  // U(-1/sqrt(H), 1/sqrt(H)) initialisation
  const double bound = 1.0 / std::sqrt(5.0);
  for (const Tensor& p : m->parameters()) CHECK(amax(abs(p)).item<float>() <= bound);
  auto no_bias = lstm(3, 5, 1, false);
  CHECK(no_bias->named_parameters().size() == 2);
}

TEST_CASE("lstm two steps of one unit match the gate formulas by hand") {
  auto m = lstm(1, 1);
  // gates (i, f, g, o): weight_ih = [a_i, a_f, a_g, a_o], weight_hh = [u_*], biases b_ih + b_hh
  const std::vector<double> wi{0.5, -0.3, 0.8, 0.2}, wh{0.1, 0.4, -0.6, 0.7};
  const std::vector<double> bi{0.05, 0.1, -0.2, 0.3}, bh{-0.1, 0.2, 0.15, -0.05};
  set_param(m, "weight_ih_l0", tensor<double>(wi, {4, 1}));
  set_param(m, "weight_hh_l0", tensor<double>(wh, {4, 1}));
  set_param(m, "bias_ih_l0", tensor<double>(bi, {4}));
  set_param(m, "bias_hh_l0", tensor<double>(bh, {4}));
  const std::vector<double> xs{1.5, -0.7};
  double h = 0.0, c = 0.0;
  std::vector<double> hs;
  for (double x : xs) {
    double z[4];
    for (int k = 0; k < 4; ++k) z[k] = wi[k] * x + bi[k] + wh[k] * h + bh[k];
    c = sig(z[1]) * c + sig(z[0]) * std::tanh(z[2]);
    h = sig(z[3]) * std::tanh(c);
    hs.push_back(h);
  }
  const nn::LSTM::Output out = m->forward(tensor<double>(xs, {2, 1, 1}).to(kFloat32));
  REQUIRE(out.output.shape() == Shape{2, 1, 1});
  CHECK(out.output.to_vector<float>()[0] == doctest::Approx(hs[0]).epsilon(1e-6));
  CHECK(out.output.to_vector<float>()[1] == doctest::Approx(hs[1]).epsilon(1e-6));
  CHECK(out.h_n.to_vector<float>()[0] == doctest::Approx(hs[1]).epsilon(1e-6));
  CHECK(out.c_n.to_vector<float>()[0] == doctest::Approx(c).epsilon(1e-6));
}

TEST_CASE("bidirectional lstm: the reverse half is a forward lstm over the reversed sequence") {
  manual_seed(3);
  auto bi = lstm(4, 3, 1, true, true, 0.0, true);
  auto fwd = lstm(4, 3, 1, true, true), bwd = lstm(4, 3, 1, true, true);
  for (const char* k : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) {
    set_param(fwd, std::string(k) + "_l0", bi->get_parameter(std::string(k) + "_l0"));
    set_param(bwd, std::string(k) + "_l0", bi->get_parameter(std::string(k) + "_l0_reverse"));
  }
  const Tensor x = randn({2, 5, 4});
  const nn::LSTM::Output o = bi->forward(x);
  REQUIRE(o.output.shape() == Shape{2, 5, 6});
  CHECK(max_diff(o.output.narrow(2, 0, 3), fwd->forward(x).output) < 1e-6);
  const Tensor rev = flip(bwd->forward(flip(x, {1})).output, {1});
  CHECK(max_diff(o.output.narrow(2, 3, 3), rev) < 1e-6);
  CHECK(o.h_n.shape() == Shape{2, 2, 3});
  CHECK(max_diff(o.h_n.select(0, 1), rev.select(1, 0)) < 1e-6);  // backward ends at t = 0
}

TEST_CASE("two-layer lstm equals two stacked one-layer lstms; batch layouts agree") {
  manual_seed(5);
  auto two = lstm(3, 4, 2);
  auto first = lstm(3, 4), second = lstm(4, 4);
  for (const char* k : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) {
    set_param(first, std::string(k) + "_l0", two->get_parameter(std::string(k) + "_l0"));
    set_param(second, std::string(k) + "_l0", two->get_parameter(std::string(k) + "_l1"));
  }
  const Tensor x = randn({6, 2, 3});  // [T, B, in]
  const nn::LSTM::Output o = two->forward(x);
  CHECK(max_diff(o.output, second->forward(first->forward(x).output).output) < 1e-6);
  // batch_first and unbatched inputs give the same numbers
  auto bf = lstm(3, 4, 2, true, true);
  for (const auto& [n, p] : two->named_parameters()) set_param(bf, n, p);
  CHECK(max_diff(bf->forward(x.transpose(0, 1)).output.transpose(0, 1), o.output) < 1e-6);
  const Tensor one = two->forward(x.narrow(1, 1, 1).squeeze(1)).output;
  CHECK(max_diff(one, o.output.select(1, 1)) < 1e-6);
  // initial states are used
  const Tensor h0 = randn({2, 2, 4}), c0 = randn({2, 2, 4});
  CHECK(max_diff(two->forward(x, h0, c0).output, o.output) > 1e-3);
  CHECK_THROWS_AS(two->forward(x, h0, Tensor()), ValueError);
  CHECK_THROWS_AS(two->forward(randn({6, 2, 5})), ShapeError);
}

TEST_CASE("lstm dropout acts between layers in training mode only") {
  manual_seed(9);
  auto m = lstm(3, 8, 2, true, false, 0.5, true);
  const Tensor x = randn({4, 2, 3});
  m->eval();
  const Tensor a = m->forward(x).output;
  CHECK(max_diff(m->forward(x).output, a) == 0.0);
  m->train();
  CHECK(max_diff(m->forward(x).output, a) > 1e-4);
  auto one = lstm(3, 8, 1, true, false, 0.5);  // a single layer has no dropout
  const Tensor b = one->forward(x).output;
  CHECK(max_diff(one->forward(x).output, b) == 0.0);
}

TEST_CASE("bidirectional two-layer lstm passes a float64 gradcheck (input and parameters)") {
  manual_seed(11);
  auto m = lstm(3, 2, 2, true, true, 0.0, true);
  m->to(kFloat64);
  TensorList inputs{randn({2, 3, 3}, kFloat64).requires_grad_()};
  for (const Tensor& p : m->parameters()) inputs.push_back(p);
  const GradcheckResult r =
      gradcheck([&](const TensorList& in) { return m->forward(in[0]).output; }, inputs);
  CHECK_MESSAGE(r.ok, r.message);
  const GradcheckResult rh =
      gradcheck([&](const TensorList& in) { return m->forward(in[0]).h_n; }, inputs);
  CHECK_MESSAGE(rh.ok, rh.message);
}
