// Building blocks of the orthogonal fine-tuning methods (OFT, BOFT): block-diagonal matrices and
// the Cayley transform, composed of differentiable tensor ops (autograd gives the backward).
// Ports the helpers used by peft/tuners/oft/layer.py and peft/tuners/boft/layer.py @5d602fd
// (torch.block_diag and torch.linalg.solve(..., left=False)).
#pragma once

#include "tensor/tensor.h"

namespace peftcpp::oft {

/// blocks [..., D, H, H] -> [..., D*H, D*H] with block d on the diagonal (torch.block_diag of
/// the D blocks, batched over the leading dims).
Tensor block_diagonal(const Tensor& blocks);

/// b @ a^-1 for square a, batched (torch.linalg.solve(a, b, left=False)), through
/// tensor/ops/linalg.h's solve.
Tensor solve_right(const Tensor& a, const Tensor& b);

/// Cayley transform (I - S)(I + S)^-1 of a batch of square matrices S [B, H, H]
/// (orthogonal when S is skew-symmetric).
Tensor cayley_solve(const Tensor& skew);

}  // namespace peftcpp::oft
