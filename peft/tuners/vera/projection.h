// VeRA's shared random projections, generated exactly as PyTorch generates them (port of
// _kaiming_init and VeraModel._init_vera_A_vera_B in peft/tuners/vera/model.py @5d602fd).
//
// PEFT draws vera_A [r, max_in] and then vera_B [max_out, r] from one
// `torch.Generator(device="cpu").manual_seed(projection_prng_key)` with a kaiming-uniform bound.
// Reproducing those bits lets an adapter saved without its projections (save_projection=False)
// load with the same vera_A / vera_B. PyTorch's CPU generator is the 32-bit Mersenne Twister
// (std::mt19937 seeded with the low 32 bits of the seed); `uniform_` on a float32 tensor takes one
// draw per element, in memory order, keeps its low 24 bits, x = bits * 2^-24, and returns
// fma(x, to - from, from) in float (PyTorch's vectorised CPU build contracts the multiply-add;
// the golden adapter files agree with the fused form bit for bit).
#pragma once

#include <cstdint>
#include <random>

#include "tensor/tensor.h"

namespace peftcpp::vera {

/// torch.Generator(device="cpu") after manual_seed(seed) (negative seeds as PyTorch: two's
/// complement).
class TorchCpuGenerator {
 public:
  explicit TorchCpuGenerator(std::int64_t seed);
  /// One 32-bit draw (CPUGeneratorImpl::random).
  std::uint32_t random() {
    return static_cast<std::uint32_t>(engine_());
  }

 private:
  std::mt19937 engine_;
};

/// `torch.empty(shape).uniform_(from, to, generator=gen)` as float32.
Tensor torch_uniform_float32(const Shape& shape, double from, double to, TorchCpuGenerator& gen);

/// PEFT's _kaiming_init(shape, generator) for a 2-d shape: uniform in +-sqrt(3) * sqrt(2) /
/// sqrt(fan_in), fan_in = shape[1]; float32.
Tensor kaiming_init(const Shape& shape, TorchCpuGenerator& gen);

/// vera_A [r, in_dim] and vera_B [out_dim, r], drawn in that order from one generator seeded
/// with `projection_prng_key`.
std::pair<Tensor, Tensor> make_projections(
    std::int64_t projection_prng_key, std::int64_t r, std::int64_t in_dim, std::int64_t out_dim);

}  // namespace peftcpp::vera
