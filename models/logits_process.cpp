#include "models/logits_process.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace peftcpp::models {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// A float32 contiguous copy of 2-D scores (the processors work row by row on the CPU).
Tensor scores_copy(const Tensor& scores, const char* op) {
  PEFTCPP_CHECK_SHAPE(
      scores.defined() && scores.dim() == 2,
      "[generate] ",
      op,
      ": scores must be [batch, vocab], got ",
      scores.defined() ? shape_str(scores.shape()) : std::string("undefined"));
  NoGradGuard no_grad;
  return scores.detach().to(kCPU).to(kFloat32).contiguous().clone();
}

}  // namespace

Tensor repetition_penalty(const Tensor& scores, const Tensor& sequences, double penalty) {
  PEFTCPP_CHECK(penalty > 0.0, "[generate] repetition_penalty must be > 0, got ", penalty);
  const Tensor orig = scores_copy(scores, "repetition_penalty");
  Tensor out = orig.clone();
  const Tensor ids = sequences.to(kCPU).to(kInt64).contiguous();
  const std::int64_t b = orig.size(0), v = orig.size(1);
  PEFTCPP_CHECK_SHAPE(
      ids.dim() == 2 && ids.size(0) == b,
      "[generate] repetition_penalty: ",
      "sequences ",
      shape_str(ids.shape()),
      " do not match scores ",
      shape_str(orig.shape()));
  const float* o = orig.data_ptr<float>();
  float* w = out.data_ptr<float>();
  const std::int64_t* id = ids.data_ptr<std::int64_t>();
  const auto p = static_cast<float>(penalty);
  for (std::int64_t r = 0; r < b; ++r) {
    for (std::int64_t j = 0; j < ids.size(1); ++j) {
      const std::int64_t tok = id[r * ids.size(1) + j];
      PEFTCPP_CHECK_INDEX(
          tok >= 0 && tok < v, "[generate] token id ", tok, " is outside the vocabulary of ", v);
      const float s = o[r * v + tok];
      w[r * v + tok] = s < 0 ? s * p : s / p;
    }
  }
  return out;
}

Tensor temperature_warp(const Tensor& scores, double temperature) {
  PEFTCPP_CHECK(temperature > 0.0, "[generate] temperature must be > 0, got ", temperature);
  NoGradGuard no_grad;
  return div(scores_copy(scores, "temperature"), temperature);
}

Tensor top_k_filter(const Tensor& scores, std::int64_t top_k, std::int64_t min_tokens_to_keep) {
  Tensor out = scores_copy(scores, "top_k");
  const std::int64_t b = out.size(0), v = out.size(1);
  const std::int64_t k = std::min(std::max(top_k, min_tokens_to_keep), v);
  if (k <= 0 || k >= v)
    return out;
  float* w = out.data_ptr<float>();
  std::vector<float> row(static_cast<std::size_t>(v));
  for (std::int64_t r = 0; r < b; ++r) {
    float* s = w + r * v;
    std::copy(s, s + v, row.begin());
    std::nth_element(row.begin(), row.begin() + (k - 1), row.end(), std::greater<float>());
    const float kth = row[static_cast<std::size_t>(k - 1)];
    for (std::int64_t j = 0; j < v; ++j)
      if (s[j] < kth)
        s[j] = kNegInf;
  }
  return out;
}

Tensor top_p_filter(const Tensor& scores, double top_p, std::int64_t min_tokens_to_keep) {
  PEFTCPP_CHECK(top_p >= 0.0 && top_p <= 1.0, "[generate] top_p must be in [0, 1], got ", top_p);
  Tensor out = scores_copy(scores, "top_p");
  const std::int64_t b = out.size(0), v = out.size(1);
  float* w = out.data_ptr<float>();
  std::vector<std::int64_t> order(static_cast<std::size_t>(v));
  std::vector<double> probs(static_cast<std::size_t>(v));
  for (std::int64_t r = 0; r < b; ++r) {
    float* s = w + r * v;
    // Ascending order, as transformers sorts; the cumulative mass of the lowest tokens decides.
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(
        order.begin(), order.end(), [s](std::int64_t x, std::int64_t y) { return s[x] < s[y]; });
    const float mx = s[order.back()];
    double total = 0.0;
    for (std::int64_t j = 0; j < v; ++j) {
      probs[static_cast<std::size_t>(j)] = std::exp(static_cast<double>(s[order[j]] - mx));
      total += probs[static_cast<std::size_t>(j)];
    }
    double cum = 0.0;
    for (std::int64_t j = 0; j < v - min_tokens_to_keep; ++j) {
      cum += probs[static_cast<std::size_t>(j)] / total;
      if (cum <= 1.0 - top_p)
        s[order[j]] = kNegInf;
    }
  }
  return out;
}

Tensor sample_from_scores(const Tensor& scores, Generator& gen) {
  const Tensor s = scores_copy(scores, "sample");
  const std::int64_t b = s.size(0), v = s.size(1);
  const Tensor u = rand({b}, kFloat64, &gen).contiguous();
  const double* up = u.data_ptr<double>();
  const float* sp = s.data_ptr<float>();
  std::vector<std::int64_t> picked(static_cast<std::size_t>(b));
  std::vector<double> p(static_cast<std::size_t>(v));
  for (std::int64_t r = 0; r < b; ++r) {
    const float* row = sp + r * v;
    const float mx = *std::max_element(row, row + v);
    PEFTCPP_CHECK(std::isfinite(mx), "[generate] cannot sample: row ", r, " has no finite score");
    double total = 0.0;
    for (std::int64_t j = 0; j < v; ++j) {
      p[static_cast<std::size_t>(j)] = std::exp(static_cast<double>(row[j] - mx));
      total += p[static_cast<std::size_t>(j)];
    }
    const double target = up[r] * total;
    double cum = 0.0;
    std::int64_t pick = -1;
    for (std::int64_t j = 0; j < v; ++j) {
      if (p[static_cast<std::size_t>(j)] == 0.0)
        continue;
      pick = j;  // the last token with mass, should rounding leave target beyond the sum
      cum += p[static_cast<std::size_t>(j)];
      if (target < cum)
        break;
    }
    picked[static_cast<std::size_t>(r)] = pick;
  }
  return tensor<std::int64_t>(picked, {b});
}

}  // namespace peftcpp::models
