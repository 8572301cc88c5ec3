// Loss values against hand computation and independent compositions of ops.
#include <doctest/doctest.h>

#include <cmath>

#include "nn/nn.h"

using namespace peftcpp;
namespace F = peftcpp::nn::functional;

namespace {

// Reference: per-row torch formulas written with log_softmax + index arithmetic on the host.
std::vector<double> ce_rows(
    const Tensor& x,
    const std::vector<std::int64_t>& t,
    const std::vector<double>& w,
    std::int64_t ignore,
    double eps) {
  const std::int64_t c = x.size(1);
  const std::vector<double> lsm = log_softmax(x.to(kFloat64), 1).to_vector<double>();
  std::vector<double> out;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == ignore) {
      out.push_back(0.0);
      continue;
    }
    double smooth = 0.0;
    for (std::int64_t j = 0; j < c; ++j) smooth -= (w.empty() ? 1.0 : w[j]) * lsm[i * c + j];
    const double wt = w.empty() ? 1.0 : w[static_cast<std::size_t>(t[i])];
    out.push_back(-(1 - eps) * wt * lsm[i * c + t[i]] + eps / c * smooth);
  }
  return out;
}

}  // namespace

TEST_CASE("cross_entropy of a single row equals logsumexp minus the target logit") {
  Tensor x = tensor<float>({1, 2, 3}, {1, 3});
  const double want = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 2.0;
  CHECK(
      F::cross_entropy(x, tensor<std::int64_t>({1}, {1})).item<double>() ==
      doctest::Approx(want).epsilon(1e-6));
  CHECK(
      F::cross_entropy(x.reshape({3}), tensor<std::int64_t>({1}, {})).item<double>() ==
      doctest::Approx(want).epsilon(1e-6));
}

TEST_CASE("cross_entropy mean ignores ignore_index rows and divides by the summed target weights") {
  Tensor x = randn({5, 4}, kFloat64);
  const std::vector<std::int64_t> tv = {3, -100, 0, 2, 0};
  Tensor t = tensor<std::int64_t>(tv);
  const std::vector<double> w = {0.5, 1.0, 2.0, 1.5};
  for (double eps : {0.0, 0.1}) {
    INFO("eps " << eps);
    const std::vector<double> rows = ce_rows(x, tv, w, -100, eps);
    double total = 0, wsum = 0;
    for (std::size_t i = 0; i < tv.size(); ++i) {
      total += rows[i];
      if (tv[i] != -100)
        wsum += w[static_cast<std::size_t>(tv[i])];
    }
    Tensor wt = tensor<double>(w);
    CHECK(
        F::cross_entropy(x, t, wt, -100, "mean", eps).item<double>() ==
        doctest::Approx(total / wsum).epsilon(1e-12));
    CHECK(
        F::cross_entropy(x, t, wt, -100, "sum", eps).item<double>() ==
        doctest::Approx(total).epsilon(1e-12));
    CHECK(
        max_abs_diff(F::cross_entropy(x, t, wt, -100, "none", eps), tensor<double>(rows)) < 1e-12);
    const std::vector<double> plain = ce_rows(x, tv, {}, -100, eps);
    CHECK(
        F::cross_entropy(x, t, Tensor(), -100, "mean", eps).item<double>() ==
        doctest::Approx((plain[0] + plain[2] + plain[3] + plain[4]) / 4).epsilon(1e-12));
  }
}

TEST_CASE("cross_entropy on [N, C, T] equals the same loss on [N*T, C]") {
  Tensor x = randn({2, 5, 3});
  Tensor t = tensor<std::int64_t>({0, 4, -100, 2, 2, 1}, {2, 3});
  Tensor flat = F::cross_entropy(
      x.permute({0, 2, 1}).reshape({6, 5}), t.reshape({6}), Tensor(), -100, "none");
  Tensor lay = F::cross_entropy(x, t, Tensor(), -100, "none");
  CHECK(lay.shape() == Shape{2, 3});
  CHECK(max_abs_diff(lay.reshape({6}), flat) < 1e-6);
  CHECK_THROWS_AS(F::cross_entropy(x, tensor<std::int64_t>({0, 1}, {2})), ShapeError);
  CHECK_THROWS_AS(
      F::cross_entropy(x, tensor<std::int64_t>({0, 5, 1, 1, 1, 1}, {2, 3})), IndexError);
  CHECK_THROWS_AS(F::cross_entropy(x, t, Tensor(), -100, "avg"), ValueError);
}

TEST_CASE("fused cross_entropy backward equals the backward of log_softmax + gather") {
  Tensor x1 = randn({6, 7}, kFloat64).requires_grad_();
  Tensor x2 = x1.detach().clone().requires_grad_();
  Tensor t = tensor<std::int64_t>({1, 6, -100, 0, 3, 3});
  F::cross_entropy(x1, t).backward();
  Tensor valid = ne(t, -100.0);
  Tensor picked = gather(log_softmax(x2, 1), 1, mul(t, valid.to(kInt64)).unsqueeze(1)).squeeze(1);
  div(sum(mul(picked, valid.to(kFloat64))), -5.0).backward();
  CHECK(max_abs_diff(x1.grad(), x2.grad()) < 1e-12);
}

TEST_CASE("cross_entropy with every target ignored gives NaN for mean, as torch") {
  Tensor x = randn({2, 3});
  CHECK(std::isnan(F::cross_entropy(x, tensor<std::int64_t>({-100, -100})).item<float>()));
  CHECK(
      F::cross_entropy(x, tensor<std::int64_t>({-100, -100}), Tensor(), -100, "sum")
          .item<float>() == 0.0f);
}

TEST_CASE("cross_entropy on bfloat16 logits computes in float32 and returns bfloat16") {
  Tensor x = randn({4, 10});
  Tensor t = tensor<std::int64_t>({1, 2, 3, 9});
  Tensor lb = F::cross_entropy(x.to(kBFloat16), t);
  CHECK(lb.dtype() == kBFloat16);
  CHECK(
      std::abs(
          lb.item<double>() - F::cross_entropy(x.to(kBFloat16).to(kFloat32), t).item<double>()) <
      1e-2);
}

TEST_CASE("mse_loss reductions") {
  Tensor a = tensor<float>({1, 2, 3}), b = tensor<float>({1, 0, 0});
  CHECK(F::mse_loss(a, b).item<float>() == doctest::Approx(13.0 / 3));
  CHECK(F::mse_loss(a, b, "sum").item<float>() == 13.0f);
  CHECK(F::mse_loss(a, b, "none").to_vector<float>() == std::vector<float>{0, 4, 9});
}

TEST_CASE("binary_cross_entropy_with_logits matches -[p t log s(x) + (1-t) log(1-s(x))] w") {
  const std::vector<double> xs = {-3, -0.5, 0.2, 4}, ts = {0, 1, 0.25, 1}, pw = {2.0},
                            ws = {1, 0.5, 2, 1};
  double total = 0;
  std::vector<double> rows;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double s = 1 / (1 + std::exp(-xs[i]));
    rows.push_back(-(pw[0] * ts[i] * std::log(s) + (1 - ts[i]) * std::log(1 - s)) * ws[i]);
    total += rows.back();
  }
  Tensor x = tensor<double>(xs, {4, 1}), t = tensor<double>(ts, {4, 1}),
         w = tensor<double>(ws, {4, 1});
  Tensor p = tensor<double>(pw);
  CHECK(
      F::binary_cross_entropy_with_logits(x, t, w, p).item<double>() ==
      doctest::Approx(total / 4).epsilon(1e-12));
  CHECK(
      max_abs_diff(
          F::binary_cross_entropy_with_logits(x, t, w, p, "none"), tensor<double>(rows, {4, 1})) <
      1e-12);
  // stable for large logits
  Tensor big = tensor<double>({1000.0, -1000.0});
  CHECK(
      F::binary_cross_entropy_with_logits(big, tensor<double>({1, 0}), Tensor(), Tensor(), "sum")
          .item<double>() == doctest::Approx(0.0));
}
