// Butterfly permutations and BOFT's multiplicative dropout (see butterfly.h).
#include "peft/tuners/boft/butterfly.h"

#include <atomic>
#include <numeric>

#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::boft {
namespace {

std::atomic<bool> g_butterfly_enabled{false};

// PEFT's sort_block: blocks of r indices taken in the order 0, 2, 4, ..., 1, 3, 5, ...
std::vector<std::int64_t> sort_block(std::int64_t b, std::int64_t r) {
  const double step = static_cast<double>(b) / static_cast<double>(r);
  std::vector<std::int64_t> seq;
  for (std::int64_t pos = 0; static_cast<double>(pos) < step; pos += 2) seq.push_back(pos);
  for (std::int64_t pos = 1; static_cast<double>(pos) < step; pos += 2) seq.push_back(pos);
  std::vector<std::int64_t> order(static_cast<std::size_t>(b));
  std::iota(order.begin(), order.end(), 0);
  for (std::size_t i = 0; i < seq.size(); ++i) {
    const std::int64_t dst = static_cast<std::int64_t>(i) * r, src = seq[i] * r;
    PEFTCPP_CHECK(
        dst + r <= b && src + r <= b,
        "[boft] butterfly block of size ",
        b,
        " cannot be split into sub-blocks of ",
        r);
    for (std::int64_t k = 0; k < r; ++k) order[static_cast<std::size_t>(dst + k)] = src + k;
  }
  return order;
}

}  // namespace

void set_butterfly_factor_enabled(bool enabled) {
  g_butterfly_enabled = enabled;
}

bool butterfly_factor_enabled() {
  return g_butterfly_enabled;
}

std::vector<std::int64_t> block_butterfly_perm(
    std::int64_t n, std::int64_t b, std::int64_t r, std::int64_t n_butterfly_factor) {
  std::vector<std::int64_t> indices(static_cast<std::size_t>(n));
  std::iota(indices.begin(), indices.end(), 0);
  if (n_butterfly_factor == 0)
    return indices;
  PEFTCPP_CHECK(
      b > 0 && r > 0 && b * r * 2 <= n,
      "[boft] Invalid number of blocks! (n=",
      n,
      ", b=",
      b,
      ", r=",
      r,
      ")");
  const std::int64_t block = n / b;
  PEFTCPP_CHECK(
      n % block == 0, "[boft] permutation size ", n, " is not a multiple of the block ", block);
  const std::vector<std::int64_t> order = sort_block(block, r);
  for (std::int64_t i = 0; i < n; i += block) {
    const std::vector<std::int64_t> chunk(indices.begin() + i, indices.begin() + i + block);
    for (std::int64_t k = 0; k < block; ++k) {
      indices[static_cast<std::size_t>(i + k)] =
          chunk[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])];
    }
  }
  return indices;
}

Tensor perm2mat(const std::vector<std::int64_t>& perm) {
  const auto n = static_cast<std::int64_t>(perm.size());
  std::vector<float> values(static_cast<std::size_t>(n * n), 0.0F);
  for (std::int64_t i = 0; i < n; ++i)
    values[static_cast<std::size_t>(i * n + perm[static_cast<std::size_t>(i)])] = 1.0F;
  return tensor<float>(values, {n, n});
}

Tensor MultiplicativeDropoutLayer::forward(const Tensor& x) {
  if (!is_training())
    return x;
  PEFTCPP_CHECK_SHAPE(
      x.dim() == 4 && x.size(-1) == x.size(-2),
      "[boft] multiplicative dropout expects blocks [N, D, H, H], got ",
      shape_str(x.shape()));
  const std::int64_t nf = x.size(0), d = x.size(1), h = x.size(2);
  const std::int64_t chosen = randint(0, nf, {1}).item<std::int64_t>();
  const auto num = static_cast<std::int64_t>(p * static_cast<double>(d));
  const Tensor ordered = cat({ones({num}, x.dtype()), zeros({d - num}, x.dtype())});
  const Tensor mask = index_select(ordered, 0, randperm(d)).view({1, d, 1, 1});
  TensorList rows;
  for (std::int64_t i = 0; i < nf; ++i)
    rows.push_back(i == chosen ? mask : zeros({1, d, 1, 1}, x.dtype()));
  const Tensor full = cat(rows, 0);
  const Tensor id = eye(h, h, x.dtype()).view({1, 1, h, h});
  return (1.0 - full) * x + full * id;
}

}  // namespace peftcpp::boft
