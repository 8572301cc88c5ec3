// Backward formulas of the matrix factorisations (internal to tensor/ops/linalg.cpp; not
// installed). All take batched (..., m, n) tensors and return the gradient of the factorised input.
#pragma once

#include "tensor/tensor.h"

namespace peftcpp::linalg_grad {

/// Reduced QR (any m, n; for m < n the reduced and complete factorisations coincide).
Tensor qr_backward(const Tensor& gQ, const Tensor& gR, const Tensor& Q, const Tensor& R);
/// Reduced SVD a = U diag(S) Vh (U: (m, k), Vh: (k, n)).
Tensor svd_backward(
    const Tensor& gU,
    const Tensor& gS,
    const Tensor& gVh,
    const Tensor& U,
    const Tensor& S,
    const Tensor& Vh);
/// a = L L^T; the gradient is symmetric (the loss is seen as a function of a symmetric input).
Tensor cholesky_backward(const Tensor& gL, const Tensor& L);
/// a = V diag(L) V^T with orthonormal V; the gradient is symmetric.
Tensor eigh_backward(const Tensor& gL, const Tensor& gV, const Tensor& L, const Tensor& V);

}  // namespace peftcpp::linalg_grad
