// LSTM (torch.nn.LSTM semantics, see lstm.h).
#include "nn/layers/lstm.h"

#include <cmath>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "nn/functional.h"
#include "tensor/ops.h"

namespace peftcpp::nn {
namespace {

std::string param_name(const char* kind, std::int64_t layer, bool reverse) {
  return std::string(kind) + "_l" + std::to_string(layer) + (reverse ? "_reverse" : "");
}

struct Direction {
  Tensor output;  // [T, B, H]
  Tensor h, c;    // [B, H]
};

// One direction of one layer over x [T, B, in] from states h, c [B, H].
Direction run_direction(
    const Tensor& x,
    Tensor h,
    Tensor c,
    const Tensor& w_ih,
    const Tensor& w_hh,
    const Tensor& b_ih,
    const Tensor& b_hh,
    bool reverse) {
  const std::int64_t steps = x.size(0);
  const Tensor xw = linear(x, w_ih, b_ih);  // [T, B, 4H], all input projections at once
  std::vector<Tensor> outs(static_cast<std::size_t>(steps));
  for (std::int64_t s = 0; s < steps; ++s) {
    const std::int64_t t = reverse ? steps - 1 - s : s;
    const Tensor gates = add(xw.select(0, t), linear(h, w_hh, b_hh));
    const TensorList g = chunk(gates, 4, -1);  // i, f, g, o
    c = add(mul(sigmoid(g[1]), c), mul(sigmoid(g[0]), tanh(g[2])));
    h = mul(sigmoid(g[3]), tanh(c));
    outs[static_cast<std::size_t>(t)] = h;
  }
  return {stack(outs, 0), h, c};
}

}  // namespace

LSTM::LSTM(
    std::int64_t input_size_,
    std::int64_t hidden_size_,
    std::int64_t num_layers_,
    bool bias_,
    bool batch_first_,
    double dropout_,
    bool bidirectional_,
    const FactoryOptions& opts)
    : input_size(input_size_),
      hidden_size(hidden_size_),
      num_layers(num_layers_),
      bias(bias_),
      batch_first(batch_first_),
      dropout(dropout_),
      bidirectional(bidirectional_),
      generator(opts.generator) {
  PEFTCPP_CHECK(
      input_size > 0 && hidden_size > 0 && num_layers > 0,
      "[LSTM] input_size, hidden_size and num_layers must be positive, got ",
      input_size,
      ", ",
      hidden_size,
      ", ",
      num_layers);
  PEFTCPP_CHECK(
      dropout >= 0.0 && dropout <= 1.0,
      "[LSTM] dropout must be a probability in [0, 1], got ",
      dropout);
  const std::int64_t dirs = bidirectional ? 2 : 1;
  for (std::int64_t k = 0; k < num_layers; ++k) {
    const std::int64_t in = k == 0 ? input_size : hidden_size * dirs;
    for (std::int64_t d = 0; d < dirs; ++d) {
      const bool rev = d == 1;
      register_parameter(param_name("weight_ih", k, rev), empty({4 * hidden_size, in}));
      register_parameter(param_name("weight_hh", k, rev), empty({4 * hidden_size, hidden_size}));
      if (bias) {
        register_parameter(param_name("bias_ih", k, rev), empty({4 * hidden_size}));
        register_parameter(param_name("bias_hh", k, rev), empty({4 * hidden_size}));
      }
    }
  }
  reset_parameters(opts.generator);
  if (opts.dtype != kFloat32)
    to(opts.dtype);
  if (!(opts.device == kCPU))
    to(opts.device);
}

Tensor& LSTM::param(const char* kind, std::int64_t layer, bool reverse) {
  Tensor* p = find_parameter(param_name(kind, layer, reverse));
  PEFTCPP_CHECK(p != nullptr, "[LSTM] missing parameter ", param_name(kind, layer, reverse));
  return *p;
}

void LSTM::reset_parameters(Generator* gen) {
  NoGradGuard ng;
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  for (Tensor& p : parameters()) {
    Tensor d = p.detach();
    uniform_(d, -bound, bound, gen);
  }
}

std::string LSTM::extra_repr() const {
  std::string s = std::to_string(input_size) + ", " + std::to_string(hidden_size);
  if (num_layers != 1)
    s += ", num_layers=" + std::to_string(num_layers);
  if (!bias)
    s += ", bias=False";
  if (batch_first)
    s += ", batch_first=True";
  if (dropout != 0.0)
    s += ", dropout=" + detail::concat(dropout);
  if (bidirectional)
    s += ", bidirectional=True";
  return s;
}

LSTM::Output LSTM::forward(const Tensor& x) {
  return forward(x, Tensor(), Tensor());
}

LSTM::Output LSTM::forward(const Tensor& x_in, const Tensor& h0_in, const Tensor& c0_in) {
  PEFTCPP_CHECK_SHAPE(
      x_in.defined() && (x_in.dim() == 2 || x_in.dim() == 3) && x_in.size(-1) == input_size,
      "[LSTM] input must be [seq, batch, ",
      input_size,
      "] (batch_first: [batch, seq, ",
      input_size,
      "]) or unbatched [seq, ",
      input_size,
      "], got ",
      x_in.defined() ? shape_str(x_in.shape()) : std::string("undefined"));
  const bool unbatched = x_in.dim() == 2;
  Tensor x = unbatched ? x_in.unsqueeze(1) : (batch_first ? x_in.transpose(0, 1) : x_in);
  const std::int64_t batch = x.size(1);
  const std::int64_t dirs = bidirectional ? 2 : 1;
  PEFTCPP_CHECK(
      h0_in.defined() == c0_in.defined(), "[LSTM] give both initial states h0 and c0, or none");
  Tensor h0 = h0_in, c0 = c0_in;
  if (h0.defined()) {
    if (unbatched) {
      h0 = h0.unsqueeze(1);
      c0 = c0.unsqueeze(1);
    }
    const Shape want{num_layers * dirs, batch, hidden_size};
    PEFTCPP_CHECK_SHAPE(
        h0.shape() == want && c0.shape() == want,
        "[LSTM] initial states must be ",
        shape_str(want),
        ", got h0 ",
        shape_str(h0.shape()),
        " and c0 ",
        shape_str(c0.shape()));
  } else {
    h0 = zeros({num_layers * dirs, batch, hidden_size}, x.dtype(), x.device());
    c0 = h0;
  }
  std::vector<Tensor> hs, cs;
  Tensor layer_in = x;
  for (std::int64_t k = 0; k < num_layers; ++k) {
    std::vector<Tensor> outs;
    for (std::int64_t d = 0; d < dirs; ++d) {
      const bool rev = d == 1;
      const std::int64_t idx = k * dirs + d;
      const Direction r = run_direction(
          layer_in,
          h0.select(0, idx),
          c0.select(0, idx),
          param("weight_ih", k, rev),
          param("weight_hh", k, rev),
          bias ? param("bias_ih", k, rev) : Tensor(),
          bias ? param("bias_hh", k, rev) : Tensor(),
          rev);
      outs.push_back(r.output);
      hs.push_back(r.h);
      cs.push_back(r.c);
    }
    layer_in = dirs == 1 ? outs[0] : cat(outs, -1);
    if (k + 1 < num_layers && dropout > 0.0)
      layer_in = functional::dropout(layer_in, dropout, is_training(), generator);
  }
  Output out{layer_in, stack(hs, 0), stack(cs, 0)};
  if (unbatched) {
    out.output = out.output.squeeze(1);
    out.h_n = out.h_n.squeeze(1);
    out.c_n = out.c_n.squeeze(1);
  } else if (batch_first) {
    out.output = out.output.transpose(0, 1);
  }
  return out;
}

}  // namespace peftcpp::nn
