// OFTRotationModule: the per-adapter block-diagonal orthogonal rotation of OFT (port of
// OFTRotationModule in peft/tuners/oft/layer.py @5d602fd). Paper: OFT, Qiu et al. 2023,
// arXiv:2306.07280; constrained OFT (COFT) and block sharing from the same paper.
//
// Parameter: weight [r, n_elements] (r = 1 with block_share), n_elements = b(b-1)/2 for block
// size b: the strict upper triangle of each skew-symmetric block Q (row-major, torch.triu_indices
// order). Each block becomes an orthogonal matrix through the Cayley transform
//   exact:    R = (I - Q)(I + Q)^-1
//   Neumann:  R = I + 2Q + 2Q^2 + ... + 2Q^(n-2) + Q^(n-1)   (n = num_cayley_neumann_terms;
//             n = 3 and 4 give the same sum, as PEFT's loop does)
// and the rotation is blockdiag(R_1..R_r) applied on the right of the input's last dim:
// x[..., r, b] -> sum_k x[..., r, k] R_r[k, c]. With coft every use first projects the weight in
// place (no grad) onto the ball of radius eps / sqrt(rows of weight) (Frobenius norm of each Q).
//
// Conv2d inputs [B, C, H, W] are unfolded into kernel-sized patches [B*Ho*Wo, C*kh*kw] (stride 1,
// no padding; feature order c, i, j), rotated, and folded back with PEFT's exact memory layout:
// the rotated patches are laid out [B, C, Ho, Wo, kh, kw] and that memory is read as F.fold's
// [B, C*kh*kw, Ho*Wo] input (overlapping patches add up).
#pragma once

#include <cstdint>
#include <vector>

#include "nn/module.h"

namespace peftcpp::oft {

class OFTRotationModule : public nn::UnaryModule {
 public:
  OFTRotationModule(
      std::int64_t r,
      std::int64_t n_elements,
      std::int64_t block_size,
      std::int64_t in_features,
      bool coft = false,
      double eps = 6e-5,
      bool block_share = false,
      std::vector<std::int64_t> kernel_size = {0, 0},
      bool use_cayley_neumann = true,
      int num_cayley_neumann_terms = 5);
  std::string type_name() const override {
    return "OFTRotationModule";
  }
  /// x [..., in_features] (or [B, C, H, W] for conv layers) rotated, in x's dtype.
  Tensor forward(const Tensor& x) override;
  /// The full rotation blockdiag(R, ..., R) [in_features, in_features] (PEFT's get_weight).
  Tensor get_weight();
  /// The orthogonal blocks [r, block, block] ([1, ...] with block_share), after the coft
  /// projection (get_weight without the block diagonal).
  Tensor blocks();
  /// Number of diagonal blocks of the rotation (in_features / block with block_share, else r).
  std::int64_t num_blocks() const {
    return block_share ? in_features / block_size : r;
  }

  /// vec [b, n_elements] -> skew-symmetric [b, block, block].
  Tensor skew_symmetric(const Tensor& vec) const;
  /// [b, block, block] -> its strict upper triangle [b, n_elements].
  Tensor skew_symmetric_inv(const Tensor& matrix) const;
  /// The orthogonal blocks [b, block, block] of q [b, n_elements] (see the file comment).
  Tensor cayley_batch(const Tensor& q) const;
  /// COFT: each block's Q scaled onto the eps / sqrt(b) ball when it lies outside.
  Tensor project_batch(const Tensor& q, double eps) const;
  /// [B, C, H, W] -> patches [B*Ho*Wo, C*kh*kw].
  Tensor unfold(const Tensor& x) const;
  /// patches -> [B, C, H, W] (see the file comment for the layout).
  Tensor fold(const Tensor& patches, const Shape& orig_shape) const;

  std::int64_t r;
  std::int64_t n_elements;
  std::int64_t block_size;
  std::int64_t in_features;
  bool coft;
  double eps;
  bool block_share;
  std::vector<std::int64_t> kernel_size;  // {kh, kw} for Conv2d, {0, 0} otherwise
  bool use_cayley_neumann;
  int num_cayley_neumann_terms;
  Tensor weight;
  Tensor rows, cols;  // torch.triu_indices(block, block, 1), non-persistent buffers

 private:
  /// Applies the coft projection to `weight` in place when coft is on.
  void maybe_project();
  Tensor upper_gather_;  // [block*block]: 1 + index into vec for the upper triangle, else 0
  Tensor upper_flat_;    // [n_elements]: rows * block + cols
};

}  // namespace peftcpp::oft
