// transformers' modeling_rope_utils (4.48) for the LLaMA family. Each variant repeats the float32
// arithmetic torch performs on the frequency tensors (python-float scalars are applied to float32
// tensors, so they are rounded to float first).
#include "models/llama/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace peftcpp::models::llama {
namespace {

using Freqs = std::vector<float>;

const Json& key(const LlamaSettings& s, const char* name) {
  const Json* j = s.rope_scaling.find(name);
  if (j == nullptr || !j->is_number()) {
    throw ValueError(
        "[models/llama] rope_scaling of rope_type '" + s.rope_type() + "' needs a number '" + name +
        "'");
  }
  return *j;
}

std::optional<double> optional_key(const LlamaSettings& s, const char* name) {
  const Json* j = s.rope_scaling.find(name);
  if (j == nullptr || j->is_null())
    return std::nullopt;
  if (!j->is_number())
    throw ValueError(std::string("[models/llama] rope_scaling '") + name + "' must be a number");
  return j->as_double();
}

// arange(0, dim, 2).float() / dim
Freqs exponents(std::int64_t dim) {
  Freqs e(static_cast<std::size_t>(dim / 2));
  for (std::size_t i = 0; i < e.size(); ++i)
    e[i] = static_cast<float>(2 * i) / static_cast<float>(dim);
  return e;
}

// 1 / base ** (arange(0, dim, 2) / dim)
Freqs default_inv_freq(double base, std::int64_t dim) {
  Freqs inv = exponents(dim);
  for (float& x : inv) x = 1.0f / std::pow(static_cast<float>(base), x);
  return inv;
}

RopeParameters dynamic_ntk(const LlamaSettings& s, std::optional<std::int64_t> seq_len) {
  const double factor = key(s, "factor").as_double();
  const auto max_pos = static_cast<double>(s.max_position_embeddings);
  const std::int64_t dim = s.rotary_dim();
  const std::int64_t len =
      seq_len && *seq_len > s.max_position_embeddings ? *seq_len : s.max_position_embeddings;
  const double scale = factor * static_cast<double>(len) / max_pos - (factor - 1.0);
  const double base =
      s.rope_theta * std::pow(scale, static_cast<double>(dim) / static_cast<double>(dim - 2));
  return {default_inv_freq(base, dim), 1.0};
}

RopeParameters yarn(const LlamaSettings& s) {
  const double base = s.rope_theta;
  const std::int64_t dim = s.rotary_dim();
  const auto max_pos = static_cast<double>(s.max_position_embeddings);
  const double factor = key(s, "factor").as_double();
  const double attention =
      optional_key(s, "attention_factor").value_or(0.1 * std::log(factor) + 1.0);
  // `x or default`: 0 also falls back, as in Python.
  double beta_fast = optional_key(s, "beta_fast").value_or(0.0);
  double beta_slow = optional_key(s, "beta_slow").value_or(0.0);
  if (beta_fast == 0.0)
    beta_fast = 32.0;
  if (beta_slow == 0.0)
    beta_slow = 1.0;
  const double pi = std::numbers::pi;
  auto correction_dim = [&](double rotations) {
    return static_cast<double>(dim) * std::log(max_pos / (rotations * 2.0 * pi)) /
           (2.0 * std::log(base));
  };
  const double low = std::max(std::floor(correction_dim(beta_fast)), 0.0);
  double high = std::min(std::ceil(correction_dim(beta_slow)), static_cast<double>(dim - 1));
  if (low == high)
    high += 0.001;  // avoids a zero-width ramp
  const Freqs e = exponents(dim);
  RopeParameters r{Freqs(e.size()), attention};
  for (std::size_t i = 0; i < e.size(); ++i) {
    const float pos_freq = std::pow(static_cast<float>(base), e[i]);
    const float extrapolation = 1.0f / pos_freq;
    const float interpolation = 1.0f / (static_cast<float>(factor) * pos_freq);
    float ramp = (static_cast<float>(i) - static_cast<float>(low)) / static_cast<float>(high - low);
    ramp = std::clamp(ramp, 0.0f, 1.0f);
    const float extrapolation_factor = 1.0f - ramp;
    r.inv_freq[i] =
        interpolation * (1.0f - extrapolation_factor) + extrapolation * extrapolation_factor;
  }
  return r;
}

Freqs factor_list(const LlamaSettings& s, const char* name, std::size_t n) {
  const Json* j = s.rope_scaling.find(name);
  if (j == nullptr || !j->is_array() || j->size() != n) {
    throw ValueError(
        std::string("[models/llama] rope_scaling '") + name + "' must be a list of " +
        std::to_string(n) + " numbers (head_dim / 2)");
  }
  Freqs out;
  for (const Json& v : j->as_array()) out.push_back(static_cast<float>(v.as_double()));
  return out;
}

RopeParameters longrope(const LlamaSettings& s) {
  const std::int64_t dim = s.rotary_dim();
  const auto n = static_cast<std::size_t>(dim / 2);
  const Freqs long_factor = factor_list(s, "long_factor", n);
  const Freqs short_factor = factor_list(s, "short_factor", n);
  double max_pos = static_cast<double>(s.max_position_embeddings);
  double expanded = 0.0;
  double factor = 0.0;
  if (s.original_max_position_embeddings) {
    // Phi-3 style: the ratio of the two config values replaces `factor`.
    max_pos = static_cast<double>(*s.original_max_position_embeddings);
    expanded = static_cast<double>(s.max_position_embeddings);
    factor = expanded / max_pos;
  } else {
    factor = key(s, "factor").as_double();
    expanded = max_pos * factor;
  }
  double attention = 1.0;
  if (auto a = optional_key(s, "attention_factor")) {
    attention = *a;
  } else if (factor > 1.0) {
    attention = std::sqrt(1.0 + std::log(factor) / std::log(max_pos));
  }
  const Freqs& ext = expanded > max_pos ? long_factor : short_factor;
  const Freqs e = exponents(dim);
  RopeParameters r{Freqs(n), attention};
  for (std::size_t i = 0; i < n; ++i)
    r.inv_freq[i] = 1.0f / (ext[i] * std::pow(static_cast<float>(s.rope_theta), e[i]));
  return r;
}

RopeParameters llama3(const LlamaSettings& s) {
  Freqs inv = default_inv_freq(s.rope_theta, s.rotary_dim());
  const auto factor = static_cast<float>(key(s, "factor").as_double());
  const double low_freq_factor = key(s, "low_freq_factor").as_double();
  const double high_freq_factor = key(s, "high_freq_factor").as_double();
  const double old_context = key(s, "original_max_position_embeddings").as_double();
  const auto low_freq_wavelen = static_cast<float>(old_context / low_freq_factor);
  const auto high_freq_wavelen = static_cast<float>(old_context / high_freq_factor);
  const auto two_pi = static_cast<float>(2.0 * std::numbers::pi);
  for (float& f : inv) {
    const float wavelen = two_pi / f;
    const float scaled = wavelen > low_freq_wavelen ? f / factor : f;
    const float smooth =
        (static_cast<float>(old_context) / wavelen - static_cast<float>(low_freq_factor)) /
        static_cast<float>(high_freq_factor - low_freq_factor);
    const float smoothed = (1.0f - smooth) * scaled / factor + smooth * scaled;
    const bool medium = !(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen);
    f = medium ? smoothed : scaled;
  }
  return {inv, 1.0};
}

Tensor to_tensor(const Freqs& f) {
  return tensor<float>(f, {static_cast<std::int64_t>(f.size())});
}

}  // namespace

RopeParameters compute_rope_parameters(
    const LlamaSettings& s, std::optional<std::int64_t> seq_len) {
  const std::string t = s.rope_type();
  if (t == "default")
    return {default_inv_freq(s.rope_theta, s.rotary_dim()), 1.0};
  if (t == "linear") {
    Freqs inv = default_inv_freq(s.rope_theta, s.rotary_dim());
    const auto factor = static_cast<float>(key(s, "factor").as_double());
    for (float& f : inv) f /= factor;
    return {inv, 1.0};
  }
  if (t == "dynamic")
    return dynamic_ntk(s, seq_len);
  if (t == "yarn")
    return yarn(s);
  if (t == "longrope")
    return longrope(s);
  if (t == "llama3")
    return llama3(s);
  throw ValueError("[models/llama] unsupported rope_type '" + t + "'");
}

LlamaRotaryEmbedding::LlamaRotaryEmbedding(const LlamaSettings& s)
    : settings_(s), prefix_(s.prefix) {
  const RopeParameters p = compute_rope_parameters(s);
  inv_freq = to_tensor(p.inv_freq);
  attention_scaling = p.attention_scaling;
  original_inv_freq_ = inv_freq;
  max_seq_len_cached_ = original_max_seq_len_ = s.max_position_embeddings;
  register_buffer("inv_freq", &inv_freq, /*persistent=*/false);
}

void LlamaRotaryEmbedding::dynamic_update(const Tensor& position_ids) {
  const std::int64_t seq_len = amax(position_ids).item<std::int64_t>() + 1;
  if (seq_len > max_seq_len_cached_) {  // grow
    inv_freq = to_tensor(compute_rope_parameters(settings_, seq_len).inv_freq);
    max_seq_len_cached_ = seq_len;
  }
  if (seq_len < original_max_seq_len_ && max_seq_len_cached_ > original_max_seq_len_) {  // reset
    inv_freq = original_inv_freq_;
    max_seq_len_cached_ = original_max_seq_len_;
  }
}

std::pair<Tensor, Tensor> LlamaRotaryEmbedding::forward(const Tensor& position_ids, DType dtype) {
  PEFTCPP_CHECK(
      position_ids.defined() && position_ids.dim() == 2,
      "[models/llama] position_ids must be [batch, seq], got ",
      position_ids.defined() ? shape_str(position_ids.shape()) : std::string("undefined"));
  NoGradGuard no_grad;
  const Tensor pos = position_ids.to(kInt64).contiguous();
  if (settings_.rope_type() == "dynamic" && pos.numel() > 0)
    dynamic_update(pos);
  const Tensor inv = inv_freq.to(kFloat32).contiguous();
  const std::int64_t bt = pos.numel(), half = inv.numel(), dim = 2 * half;
  Tensor c = empty({pos.size(0), pos.size(1), dim}, kFloat32);
  Tensor s = empty({pos.size(0), pos.size(1), dim}, kFloat32);
  const std::int64_t* p = pos.data_ptr<std::int64_t>();
  const float* f = inv.data_ptr<float>();
  float* cp = c.data_ptr<float>();
  float* sp = s.data_ptr<float>();
  const auto scale = static_cast<float>(attention_scaling);
  for (std::int64_t r = 0; r < bt; ++r) {
    const auto x = static_cast<float>(p[r]);
    float* cr = cp + r * dim;
    float* sr = sp + r * dim;
    for (std::int64_t i = 0; i < half; ++i) {
      const float angle = x * f[i];
      float cv = std::cos(angle), sv = std::sin(angle);
      if (attention_scaling != 1.0) {
        cv *= scale;
        sv *= scale;
      }
      cr[i] = cr[i + half] = cv;  // cat(freqs, freqs)
      sr[i] = sr[i + half] = sv;
    }
  }
  if (dtype != kFloat32)
    return {c.to(dtype), s.to(dtype)};
  return {c, s};
}

}  // namespace peftcpp::models::llama
