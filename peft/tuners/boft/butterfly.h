// The butterfly structure of BOFT (port of block_butterfly_perm, perm2mat and
// MultiplicativeDropoutLayer in peft/tuners/boft/layer.py @5d602fd). Paper: BOFT, Liu et al.
// 2024, "Parameter-Efficient Orthogonal Finetuning via Butterfly Factorization",
// arXiv:2311.06243.
//
// Butterfly factor i (i = 0..m, m = boft_n_butterfly_factor - 1) is P_i B_i P_i^T with B_i the
// block-diagonal matrix of the factor's orthogonal blocks and P_i the permutation matrix of
// block_butterfly_perm(n, block_num / 2^i, block_size / 2, m); with m = 0 it is the identity.
// P M P^T = M[perm][:, perm], which is how it is applied here (no n x n matrices are stored).
#pragma once

#include <cstdint>
#include <vector>

#include "nn/module.h"

namespace peftcpp::boft {

/// PEFT honours boft_n_butterfly_factor only when its fast block-diagonal CUDA extension (fbd)
/// loads; everywhere else, e.g. on every CPU-only install, it warns and uses 1 factor, so the
/// adapter files hold boft_R [1, ...]. peftcpp builds block diagonals natively and could honour
/// any factor, but by default behaves as PEFT without the extension, so that adapters trained
/// by either load in the other. Enable to get PEFT-with-fbd behaviour (boft_R [factor, ...]).
void set_butterfly_factor_enabled(bool enabled);
bool butterfly_factor_enabled();

/// The block butterfly permutation of size n (PEFT's block_butterfly_perm): identity when
/// n_butterfly_factor == 0; throws ValueError "Invalid number of blocks!" when b * r * 2 > n.
std::vector<std::int64_t> block_butterfly_perm(
    std::int64_t n, std::int64_t b, std::int64_t r, std::int64_t n_butterfly_factor);
/// The permutation matrix P with P[i, perm[i]] = 1 (PEFT's perm2mat), float32 [n, n].
Tensor perm2mat(const std::vector<std::int64_t>& perm);

/// BOFT's multiplicative dropout over butterfly blocks [N, D, H, H]: in training, in one
/// randomly chosen factor n, int(p * D) randomly chosen blocks become the identity.
class MultiplicativeDropoutLayer : public nn::UnaryModule {
 public:
  explicit MultiplicativeDropoutLayer(double p = 0.0) : p(p) {}
  std::string type_name() const override {
    return "MultiplicativeDropoutLayer";
  }
  Tensor forward(const Tensor& x) override;
  double p;
};

}  // namespace peftcpp::boft
