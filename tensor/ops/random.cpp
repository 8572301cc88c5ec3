// Random tensors and torch.nn.init-style initialisers on the counter-based generator.
#include "tensor/ops/random.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "autograd/grad_mode.h"
#include "tensor/backend/backend.h"
#include "tensor/ops.h"
#include "tensor/random/philox.h"

namespace peftcpp {

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}

void manual_seed(std::uint64_t seed) {
  default_generator().manual_seed(seed);
}

namespace {
Generator& pick(Generator* gen) {
  return gen ? *gen : default_generator();
}

void fill_random(Tensor& t, int kind, double a, double b, Generator* gen, const char* op) {
  PEFTCPP_CHECK_DTYPE(is_floating_point(t.dtype()), "[", op, "] expects a floating-point tensor, got ",
                      dtype_name(t.dtype()));
  Generator& g = pick(gen);
  const std::uint64_t offset = g.advance(static_cast<std::uint64_t>(t.numel()));
  NoGradGuard ng;
  if (t.is_contiguous()) {
    backend_for(t.device()).random(view_of(t), kind, a, b, g.seed(), offset);
  } else {
    Tensor tmp = empty(t.shape(), t.dtype(), t.device());
    backend_for(t.device()).random(view_of(tmp), kind, a, b, g.seed(), offset);
    Tensor d = t.detach();
    d.copy_(tmp);
  }
  t.storage()->bump_version();
}

std::pair<double, double> fans(const Tensor& t, const char* op) {
  PEFTCPP_CHECK_SHAPE(t.dim() >= 2, "[", op, "] fan in/out need at least 2 dims, got ", shape_str(t.shape()));
  double receptive = 1;
  for (std::int64_t i = 2; i < t.dim(); ++i) receptive *= static_cast<double>(t.size(i));
  return {static_cast<double>(t.size(1)) * receptive, static_cast<double>(t.size(0)) * receptive};
}

double calculate_gain(const std::string& nonlinearity, double a) {
  if (nonlinearity == "linear" || nonlinearity == "sigmoid" || nonlinearity.rfind("conv", 0) == 0) return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1 + a * a));
  if (nonlinearity == "selu") return 0.75;
  throw ValueError("[init] unsupported nonlinearity '" + nonlinearity + "'");
}

double kaiming_std(const Tensor& t, double a, const std::string& mode, const std::string& nonlinearity,
                   const char* op) {
  auto [fan_in, fan_out] = fans(t, op);
  PEFTCPP_CHECK(mode == "fan_in" || mode == "fan_out", "[", op, "] mode must be fan_in or fan_out, got '", mode, "'");
  const double fan = mode == "fan_in" ? fan_in : fan_out;
  PEFTCPP_CHECK(fan > 0, "[", op, "] cannot initialise a tensor with zero fan (", shape_str(t.shape()), ")");
  return calculate_gain(nonlinearity, a) / std::sqrt(fan);
}
}  // namespace

Tensor rand(const Shape& shape, DType dtype, Generator* gen, Device device) {
  Tensor t = empty(shape, dtype, device);
  fill_random(t, 0, 0.0, 1.0, gen, "rand");
  return t;
}

Tensor randn(const Shape& shape, DType dtype, Generator* gen, Device device) {
  Tensor t = empty(shape, dtype, device);
  fill_random(t, 1, 0.0, 1.0, gen, "randn");
  return t;
}

Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, Generator* gen, Device device) {
  PEFTCPP_CHECK(high > low, "[randint] high (", high, ") must be greater than low (", low, ")");
  Tensor u = rand(shape, kFloat64, gen, kCPU);
  Tensor r = floor(add(mul(u, static_cast<double>(high - low)), static_cast<double>(low))).to(kInt64);
  return device.is_cpu() ? r : r.to(device);
}

Tensor randperm(std::int64_t n, Generator* gen, Device device) {
  PEFTCPP_CHECK(n >= 0, "[randperm] n must be non-negative, got ", n);
  // Fisher-Yates driven by one counter-based draw per position.
  std::vector<double> u = rand({n}, kFloat64, gen, kCPU).to_vector<double>();
  std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(u[static_cast<std::size_t>(i)] * static_cast<double>(i + 1));
    std::swap(perm[static_cast<std::size_t>(i)], perm[static_cast<std::size_t>(std::min(j, i))]);
  }
  return tensor(perm, {n}, device);
}

Tensor bernoulli(const Tensor& p, Generator* gen) {
  Tensor u = rand(p.shape(), is_floating_point(p.dtype()) ? p.dtype() : kFloat32, gen, p.device());
  return lt(u, p.detach()).to(is_floating_point(p.dtype()) ? p.dtype() : kFloat32);
}

namespace {
thread_local bool g_no_init = false;
}  // namespace

NoInitGuard::NoInitGuard() : previous_(g_no_init) {
  g_no_init = true;
}
NoInitGuard::~NoInitGuard() {
  g_no_init = previous_;
}
bool NoInitGuard::active() {
  return g_no_init;
}

Tensor& uniform_(Tensor& t, double low, double high, Generator* gen) {
  if (g_no_init) return t;
  fill_random(t, 0, low, high, gen, "uniform_");
  return t;
}

Tensor& normal_(Tensor& t, double mean, double std, Generator* gen) {
  if (g_no_init) return t;
  fill_random(t, 1, mean, std, gen, "normal_");
  return t;
}

Tensor& kaiming_uniform_(Tensor& t, double a, const std::string& mode, const std::string& nonlinearity,
                         Generator* gen) {
  const double bound = std::sqrt(3.0) * kaiming_std(t, a, mode, nonlinearity, "kaiming_uniform_");
  return uniform_(t, -bound, bound, gen);
}

Tensor& kaiming_normal_(Tensor& t, double a, const std::string& mode, const std::string& nonlinearity,
                        Generator* gen) {
  return normal_(t, 0.0, kaiming_std(t, a, mode, nonlinearity, "kaiming_normal_"), gen);
}

Tensor& xavier_uniform_(Tensor& t, double gain, Generator* gen) {
  auto [fan_in, fan_out] = fans(t, "xavier_uniform_");
  const double bound = gain * std::sqrt(6.0 / (fan_in + fan_out));
  return uniform_(t, -bound, bound, gen);
}

Tensor& xavier_normal_(Tensor& t, double gain, Generator* gen) {
  auto [fan_in, fan_out] = fans(t, "xavier_normal_");
  return normal_(t, 0.0, gain * std::sqrt(2.0 / (fan_in + fan_out)), gen);
}

Tensor& orthogonal_(Tensor& t, double gain, Generator* gen) {
  if (g_no_init) return t;
  // torch.nn.init.orthogonal_: QR of a normal (rows x cols) draw (transposed when rows < cols),
  // Q's columns multiplied by sign(diag(R)) so the result is uniform over orthogonal matrices.
  PEFTCPP_CHECK_SHAPE(t.dim() >= 2, "[orthogonal_] only tensors with 2 or more dims are supported, got ",
                      shape_str(t.shape()));
  if (t.numel() == 0) return t;
  const std::int64_t rows = t.size(0), cols = t.numel() / rows;
  Tensor flat = empty({rows, cols}, t.dtype(), t.device());
  normal_(flat, 0.0, 1.0, gen);
  NoGradGuard ng;
  if (rows < cols) flat = flat.t();
  auto [q, r] = qr(flat);
  q = mul(q, sign(diag(r)));
  if (rows < cols) q = q.t();
  Tensor d = t.detach();
  d.copy_(q.reshape(t.shape()));
  d.mul_(gain);
  return t;
}

}  // namespace peftcpp
