// Linear algebra the tuners need (Eigen on CPU). Batched over leading dims.
#pragma once

#include <tuple>
#include <utility>

#include "tensor/tensor.h"

namespace peftcpp {

/// Reduced (default) or complete QR (Householder; signs as LAPACK gives them).
std::pair<Tensor, Tensor> qr(const Tensor& a, bool reduced = true);
/// U, S, Vh with a = U diag(S) Vh; full_matrices as torch.linalg.svd.
std::tuple<Tensor, Tensor, Tensor> svd(const Tensor& a, bool full_matrices = false);
/// Solves a x = b.
Tensor solve(const Tensor& a, const Tensor& b);
Tensor inverse(const Tensor& a);
/// Lower-triangular L with a = L L^T.
Tensor cholesky(const Tensor& a);
/// Eigenvalues ascending and eigenvectors (columns) of a symmetric matrix.
std::pair<Tensor, Tensor> eigh(const Tensor& a);

}  // namespace peftcpp
