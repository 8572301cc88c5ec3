// VeRA projections from PyTorch's CPU generator (see projection.h; PyTorch's uniform_real in
// ATen/core/TransformationHelper.h and CPUGeneratorImpl, port of _kaiming_init in
// peft/tuners/vera/model.py @5d602fd).
#include "peft/tuners/vera/projection.h"

#include <cmath>
#include <utility>
#include <vector>

#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::vera {

TorchCpuGenerator::TorchCpuGenerator(std::int64_t seed)
    : engine_(static_cast<std::uint32_t>(static_cast<std::uint64_t>(seed) & 0xffffffffULL)) {}

Tensor torch_uniform_float32(const Shape& shape, double from, double to, TorchCpuGenerator& gen) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    PEFTCPP_CHECK(d >= 0, "[vera] negative dimension in projection shape");
    n *= d;
  }
  // the bounds are cast to the tensor's dtype first, then everything is float arithmetic
  const float lo = static_cast<float>(from);
  const float span = static_cast<float>(to) - lo;
  constexpr std::uint32_t kMask = (1U << 24) - 1;  // float's 24 significand bits
  constexpr float kDivisor = 1.0f / static_cast<float>(1U << 24);
  std::vector<float> values(static_cast<std::size_t>(n));
  for (float& v : values) {
    const float x = static_cast<float>(gen.random() & kMask) * kDivisor;
    v = std::fma(x, span, lo);
  }
  return tensor<float>(values, shape);
}

Tensor kaiming_init(const Shape& shape, TorchCpuGenerator& gen) {
  PEFTCPP_CHECK(shape.size() == 2, "[vera] projections are 2-d, got ", shape.size(), " dims");
  const std::int64_t fan = shape[1];
  PEFTCPP_CHECK(fan > 0, "[vera] fan_in of a projection must be positive, got ", fan);
  const double gain = std::sqrt(2.0);
  const double std_dev = gain / std::sqrt(static_cast<double>(fan));
  const double bound = std::sqrt(3.0) * std_dev;
  return torch_uniform_float32(shape, -bound, bound, gen);
}

std::pair<Tensor, Tensor> make_projections(
    std::int64_t projection_prng_key, std::int64_t r, std::int64_t in_dim, std::int64_t out_dim) {
  TorchCpuGenerator gen(projection_prng_key);
  Tensor a = kaiming_init({r, in_dim}, gen);
  Tensor b = kaiming_init({out_dim, r}, gen);
  return {std::move(a), std::move(b)};
}

}  // namespace peftcpp::vera
