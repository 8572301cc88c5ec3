// float64 gradient checks of every LoHa layer type (finite differences, autograd/gradcheck.h),
// and the backward PEFT gives the effective-conv weight (HadaWeightCP) against a hand-written
// reference of its formula.
#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "peft/tuners/loha/layer.h"
#include "tests/peft/lycoris/lycoris_test_util.h"

using namespace peftcpp;

namespace {

const std::vector<std::string> kFlat = {"hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"};

std::shared_ptr<loha::LoHaLayer> f64_layer(
    const std::string& spec, bool effective, std::shared_ptr<PeftModel>& keep) {
  auto base = test::one_layer(spec, 7);
  base->to(kFloat64);
  auto cfg = test::lycoris_config<LoHaConfig>({"m"}, 2, 3);
  cfg->use_effective_conv2d = effective;
  keep = get_peft_model(base, std::move(cfg));
  auto l = keep->get_base_model()->get_submodule_as<loha::LoHaLayer>("m");
  REQUIRE(l != nullptr);
  return l;
}

}  // namespace

TEST_CASE("loha Linear passes a float64 gradcheck") {
  std::shared_ptr<PeftModel> m;
  auto l = f64_layer(test::linear_spec(5, 4), false, m);
  test::check_layer_grads(*l, randn({3, 5}, kFloat64), kFlat);
}

TEST_CASE(
    "loha Conv1d and Conv2d (flattened kernels, also 1x1 and groups) pass a float64 gradcheck") {
  std::shared_ptr<PeftModel> m;
  test::check_layer_grads(
      *f64_layer(test::conv1d_spec(2, 3, 3), false, m), randn({2, 2, 5}, kFloat64), kFlat);
  test::check_layer_grads(
      *f64_layer(test::conv2d_spec(2, 3, 3), false, m), randn({2, 2, 4, 4}, kFloat64), kFlat);
  test::check_layer_grads(
      *f64_layer(test::conv2d_spec(2, 3, 1), true, m), randn({2, 2, 3, 3}, kFloat64), kFlat);
  test::check_layer_grads(
      *f64_layer(test::conv2d_spec(4, 2, 3, 2), false, m), randn({1, 4, 4, 4}, kFloat64), kFlat);
}

TEST_CASE("loha effective conv gradients are exact for the cores, w_b factors and the input") {
  std::shared_ptr<PeftModel> m;
  const std::vector<std::string> exact = {"hada_t1", "hada_t2", "hada_w1_b", "hada_w2_b"};
  test::check_layer_grads(
      *f64_layer(test::conv2d_spec(2, 3, 3), true, m), randn({2, 2, 4, 4}, kFloat64), exact);
  test::check_layer_grads(
      *f64_layer(test::conv1d_spec(2, 3, 3), true, m), randn({2, 2, 5}, kFloat64), exact);
}

TEST_CASE("loha effective conv: with equal factors PEFT's w_a gradients are exact too") {
  // PEFT's HadaWeightCP contracts d w1_a with the second factor's partial rebuild; when both
  // factors share t and w_b that is the derivative, so the full gradcheck must pass.
  std::shared_ptr<PeftModel> m;
  auto l = f64_layer(test::conv2d_spec(2, 3, 3), true, m);
  l->params("hada_t2").at("default") = l->params("hada_t1").at("default").detach().clone();
  l->params("hada_w2_b").at("default") = l->params("hada_w1_b").at("default").detach().clone();
  test::check_layer_grads(*l, randn({1, 2, 4, 4}, kFloat64), {"hada_w1_a", "hada_w2_a"});
}

TEST_CASE("HadaWeightCP backward follows PEFT's formula for w1_a and w2_a") {
  manual_seed(21);
  const std::int64_t R = 2, P = 3, Q = 4, K = 2;
  Tensor t1 = randn({R, R, K, K}, kFloat64).requires_grad_(true);
  Tensor w1a = randn({R, P}, kFloat64).requires_grad_(true);
  Tensor w1b = randn({R, Q}, kFloat64).requires_grad_(true);
  Tensor t2 = randn({R, R, K, K}, kFloat64).requires_grad_(true);
  Tensor w2a = randn({R, P}, kFloat64).requires_grad_(true);
  Tensor w2b = randn({R, Q}, kFloat64).requires_grad_(true);
  const double scale = 1.5;
  const Tensor gout = randn({P, Q, K, K}, kFloat64);
  const Tensor out = loha::make_weight_cp(t1, w1a, w1b, t2, w2a, w2b, scale);
  sum(out * gout).backward();
  // temp_n[i, r, k, l] = sum_j t_n[i, j, k, l] w_nb[j, r]; rebuild_n[p, r, k, l] =
  // sum_i temp_n[i, r, k, l] w_na[i, p]; PEFT: d w1a[i, p] = sum_{r,k,l} temp2[i, r, k, l] *
  // rebuild2[p, r, k, l] * scale * gout[p, r, k, l] (and symmetrically for w2a with temp1).
  auto v = [](const Tensor& t) { return t.detach().to_vector<double>(); };
  const auto T1 = v(t1), T2 = v(t2), A1 = v(w1a), B1 = v(w1b), A2 = v(w2a), B2 = v(w2b),
             G = v(gout);
  auto temp =
      [&](const std::vector<double>& T, const std::vector<double>& B, int i, int r, int k, int l) {
        double s = 0;
        for (int j = 0; j < R; ++j) s += T[((i * R + j) * K + k) * K + l] * B[j * Q + r];
        return s;
      };
  auto rebuild = [&](const std::vector<double>& T,
                     const std::vector<double>& A,
                     const std::vector<double>& B,
                     int p,
                     int r,
                     int k,
                     int l) {
    double s = 0;
    for (int i = 0; i < R; ++i) s += temp(T, B, i, r, k, l) * A[i * P + p];
    return s;
  };
  double worst1 = 0, worst2 = 0, true_gap = 0;
  const auto g1 = v(w1a.grad()), g2 = v(w2a.grad());
  for (int i = 0; i < R; ++i) {
    for (int p = 0; p < P; ++p) {
      double peft1 = 0, peft2 = 0, exact1 = 0;
      for (int r = 0; r < Q; ++r) {
        for (int k = 0; k < K; ++k) {
          for (int l = 0; l < K; ++l) {
            const double go = scale * G[((p * Q + r) * K + k) * K + l];
            peft1 += temp(T2, B2, i, r, k, l) * rebuild(T2, A2, B2, p, r, k, l) * go;
            peft2 += temp(T1, B1, i, r, k, l) * rebuild(T1, A1, B1, p, r, k, l) * go;
            exact1 += temp(T1, B1, i, r, k, l) * rebuild(T2, A2, B2, p, r, k, l) * go;
          }
        }
      }
      worst1 = std::max(worst1, std::abs(g1[i * P + p] - peft1));
      worst2 = std::max(worst2, std::abs(g2[i * P + p] - peft2));
      true_gap = std::max(true_gap, std::abs(g1[i * P + p] - exact1));
    }
  }
  CHECK(worst1 < 1e-10);
  CHECK(worst2 < 1e-10);
  CHECK(true_gap > 1e-3);  // differs from the true derivative for random factors
}
