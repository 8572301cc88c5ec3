// Counter-based random numbers (Philox-4x32-10): the value at position i of a draw depends only on
// (seed, offset, i), so results do not depend on the number of threads or the device.
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace peftcpp {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0) : seed_(seed) {}
  void manual_seed(std::uint64_t seed) {
    seed_ = seed;
    offset_ = 0;
  }
  std::uint64_t seed() const {
    return seed_;
  }
  /// Reserves `n` counter values and returns the first; every draw advances the offset.
  std::uint64_t advance(std::uint64_t n) {
    const std::uint64_t o = offset_;
    offset_ += n;
    return o;
  }
  std::uint64_t offset() const {
    return offset_;
  }
  void set_offset(std::uint64_t offset) {
    offset_ = offset;
  }

 private:
  std::uint64_t seed_ = 0;
  std::uint64_t offset_ = 0;
};

/// The process-wide default generator (seed 0 until manual_seed).
Generator& default_generator();
void manual_seed(std::uint64_t seed);

Tensor rand(const Shape& shape, DType dtype = kFloat32, Generator* gen = nullptr, Device device = kCPU);
Tensor randn(const Shape& shape, DType dtype = kFloat32, Generator* gen = nullptr, Device device = kCPU);
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, Generator* gen = nullptr, Device device = kCPU);
Tensor randperm(std::int64_t n, Generator* gen = nullptr, Device device = kCPU);
/// Same dtype as p: 1 with probability p, else 0.
Tensor bernoulli(const Tensor& p, Generator* gen = nullptr);

/// While alive on this thread, the in-place initialisers below leave tensors unchanged
/// (transformers' no_init_weights): from_pretrained builds models whose weights the checkpoint
/// overwrites anyway, and drawing them costs more than loading them.
class NoInitGuard {
 public:
  NoInitGuard();
  ~NoInitGuard();
  NoInitGuard(const NoInitGuard&) = delete;
  NoInitGuard& operator=(const NoInitGuard&) = delete;
  static bool active();

 private:
  bool previous_;
};

// In-place initialisers (PyTorch's torch.nn.init formulas).
Tensor& uniform_(Tensor& t, double low = 0.0, double high = 1.0, Generator* gen = nullptr);
Tensor& normal_(Tensor& t, double mean = 0.0, double std = 1.0, Generator* gen = nullptr);
/// nonlinearity: "leaky_relu" (a = neg slope), "relu", "linear", "tanh", "sigmoid".
Tensor& kaiming_uniform_(Tensor& t, double a = 0.0, const std::string& mode = "fan_in",
                         const std::string& nonlinearity = "leaky_relu", Generator* gen = nullptr);
Tensor& kaiming_normal_(Tensor& t, double a = 0.0, const std::string& mode = "fan_in",
                        const std::string& nonlinearity = "leaky_relu", Generator* gen = nullptr);
Tensor& xavier_uniform_(Tensor& t, double gain = 1.0, Generator* gen = nullptr);
Tensor& xavier_normal_(Tensor& t, double gain = 1.0, Generator* gen = nullptr);
Tensor& orthogonal_(Tensor& t, double gain = 1.0, Generator* gen = nullptr);

}  // namespace peftcpp
