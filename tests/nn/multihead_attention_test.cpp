// nn::MultiHeadAttention against a scalar, head-by-head reference written from the definition.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "autograd/gradcheck.h"
#include "nn/nn.h"

using namespace peftcpp;
using namespace peftcpp::nn;

namespace {

// y = x W^T + b for one row, in double.
std::vector<double> affine(const Tensor& w, const Tensor& b, const std::vector<double>& x) {
  Tensor W = w.to(kFloat64).contiguous();
  const std::int64_t out = W.size(0), in = W.size(1);
  std::vector<double> y(out, 0.0);
  for (std::int64_t o = 0; o < out; ++o) {
    double s = b.defined() ? b.to(kFloat64).contiguous().data_ptr<double>()[o] : 0.0;
    for (std::int64_t i = 0; i < in; ++i) s += W.data_ptr<double>()[o * in + i] * x[i];
    y[o] = s;
  }
  return y;
}

Linear& lin(const std::shared_ptr<UnaryModule>& m) {
  return dynamic_cast<Linear&>(*m);
}

// The definition: per batch, per head, per query, softmax over allowed keys (GQA: query head h
// reads kv head h / (H / Hkv)); rows with no allowed key give zeros; no rotary.
Tensor reference(MultiHeadAttention& m, const Tensor& x, const Tensor& pad, bool causal) {
  const std::int64_t B = x.size(0), T = x.size(1), E = x.size(2);
  const std::int64_t H = m.options.num_heads, Hkv = m.options.num_kv_heads, D = m.head_dim;
  Tensor xd = x.to(kFloat64).contiguous();
  std::vector<double> out(static_cast<std::size_t>(B * T * E));
  for (std::int64_t b = 0; b < B; ++b) {
    std::vector<std::vector<double>> q(T), k(T), v(T);
    for (std::int64_t t = 0; t < T; ++t) {
      std::vector<double> row(xd.data_ptr<double>() + (b * T + t) * E,
                              xd.data_ptr<double>() + (b * T + t + 1) * E);
      q[t] = affine(lin(m.q_proj).weight, lin(m.q_proj).bias, row);
      k[t] = affine(lin(m.k_proj).weight, lin(m.k_proj).bias, row);
      v[t] = affine(lin(m.v_proj).weight, lin(m.v_proj).bias, row);
    }
    for (std::int64_t t = 0; t < T; ++t) {
      std::vector<double> ctx(E, 0.0);
      for (std::int64_t h = 0; h < H; ++h) {
        const std::int64_t g = h / (H / Hkv);
        std::vector<double> score(T, 0.0);
        std::vector<bool> allowed(T, true);
        double mx = -1e300;
        for (std::int64_t s = 0; s < T; ++s) {
          if (causal && s > t) allowed[s] = false;
          if (pad.defined() && pad.to(kFloat64).contiguous().data_ptr<double>()[b * T + s] == 0)
            allowed[s] = false;
          if (!allowed[s]) continue;
          double dot = 0;
          for (std::int64_t d = 0; d < D; ++d) dot += q[t][h * D + d] * k[s][g * D + d];
          score[s] = dot / std::sqrt(static_cast<double>(D));
          mx = std::max(mx, score[s]);
        }
        double z = 0;
        for (std::int64_t s = 0; s < T; ++s)
          if (allowed[s]) z += std::exp(score[s] - mx);
        for (std::int64_t s = 0; s < T; ++s) {
          if (!allowed[s]) continue;
          const double p = std::exp(score[s] - mx) / z;
          for (std::int64_t d = 0; d < D; ++d) ctx[h * D + d] += p * v[s][g * D + d];
        }
      }
      std::vector<double> y = affine(lin(m.o_proj).weight, lin(m.o_proj).bias, ctx);
      for (std::int64_t e = 0; e < E; ++e) out[(b * T + t) * E + e] = y[e];
    }
  }
  return tensor<double>(out, {B, T, E});
}

}  // namespace

TEST_CASE("MultiHeadAttention names its projections as HF decoders do") {
  MultiHeadAttention m({.embed_dim = 8, .num_heads = 2, .num_kv_heads = 1, .bias = false});
  std::vector<std::string> names;
  for (const auto& [n, p] : m.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"q_proj.weight", "k_proj.weight", "v_proj.weight",
                                          "o_proj.weight"});
  CHECK(m.k_proj->named_parameters()[0].second.shape() == Shape{4, 8});
}

TEST_CASE("MultiHeadAttention matches the per-head definition with causal and padding masks") {
  manual_seed(3);
  for (std::int64_t kv : {4, 2, 1}) {
    MultiHeadAttention m({.embed_dim = 16, .num_heads = 4, .num_kv_heads = kv});
    m.to(kFloat64);
    Tensor x = randn({2, 5, 16}, kFloat64);
    Tensor pad = tensor<std::int64_t>({1, 1, 1, 1, 1, 0, 1, 1, 1, 0}, {2, 5});
    INFO("num_kv_heads " << kv);
    CHECK(max_abs_diff(m.forward(x), reference(m, x, Tensor(), false)) < 1e-10);
    CHECK(max_abs_diff(m.forward(x, Tensor(), true), reference(m, x, Tensor(), true)) < 1e-10);
    CHECK(max_abs_diff(m.forward(x, pad, true), reference(m, x, pad, true)) < 1e-10);
  }
}

TEST_CASE("a query with every key masked gets zeros, not NaN") {
  MultiHeadAttention m({.embed_dim = 4, .num_heads = 1, .bias = false});
  Tensor x = randn({1, 3, 4});
  Tensor pad = tensor<std::int64_t>({0, 1, 1}, {1, 3});
  Tensor y = m.forward(x, pad, /*causal=*/true);  // query 0 sees only key 0, which is padding
  CHECK(max_abs_diff(y.select(1, 0), zeros({1, 4})) == 0.0);
  CHECK(!any(isnan(y)).item<bool>());
}

TEST_CASE("rotary MultiHeadAttention is invariant to a shift of every position") {
  // RoPE scores depend on position differences only.
  manual_seed(5);
  MultiHeadAttention m({.embed_dim = 16, .num_heads = 2, .rotary = true});
  m.to(kFloat64);
  Tensor x = randn({1, 4, 16}, kFloat64);
  Tensor a = m.forward(x, Tensor(), true);
  Tensor b = m.forward(x, Tensor(), true, arange(7, 11, 1, kInt64));
  CHECK(max_abs_diff(a, b) < 1e-9);
  // and it differs from the same layer without rotary
  MultiHeadAttention plain({.embed_dim = 16, .num_heads = 2});
  plain.to(kFloat64);
  plain.load_state_dict(m.state_dict());
  CHECK(max_abs_diff(plain.forward(x, Tensor(), true), a) > 1e-6);
}

TEST_CASE("MultiHeadAttention gradients pass a float64 gradcheck") {
  manual_seed(7);
  MultiHeadAttention m({.embed_dim = 8, .num_heads = 2, .num_kv_heads = 1, .rotary = true});
  m.to(kFloat64);
  Tensor x = randn({2, 3, 8}, kFloat64).requires_grad_();
  Tensor pad = tensor<std::int64_t>({1, 1, 0, 1, 1, 1}, {2, 3});
  TensorList inputs = {x};
  for (Tensor& p : m.parameters()) inputs.push_back(p);
  auto r = gradcheck([&](const TensorList&) { return m.forward(x, pad, true); }, inputs);
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("MultiHeadAttention rejects bad shapes naming them") {
  CHECK_THROWS_WITH_AS(MultiHeadAttention({.embed_dim = 10, .num_heads = 3}),
                       doctest::Contains("not divisible"), ValueError);
  CHECK_THROWS_WITH_AS(MultiHeadAttention({.embed_dim = 8, .num_heads = 4, .num_kv_heads = 3}),
                       doctest::Contains("multiple of num_kv_heads"), ValueError);
  MultiHeadAttention m({.embed_dim = 8, .num_heads = 2});
  CHECK_THROWS_WITH_AS(m.forward(zeros({2, 3, 6})), doctest::Contains("[B, T, 8]"), ValueError);
  CHECK_THROWS_WITH_AS(m.forward(zeros({2, 3, 8}), ones({3, 2})), doctest::Contains("padding_mask"),
                       ValueError);
}
