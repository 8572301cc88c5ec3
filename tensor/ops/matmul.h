// Matrix products (packed GEMM on CPU, cuBLAS on CUDA).
#pragma once

#include "tensor/tensor.h"

namespace peftcpp {

/// torch.matmul semantics: 1-D/2-D/N-D with broadcast batch dims.
Tensor matmul(const Tensor& a, const Tensor& b);
/// [B, n, k] @ [B, k, m].
Tensor bmm(const Tensor& a, const Tensor& b);
/// [n, k] @ [k, m].
Tensor mm(const Tensor& a, const Tensor& b);
/// x @ weight^T + bias, weight [out, in] (bias optional).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());
Tensor outer(const Tensor& a, const Tensor& b);
Tensor kron(const Tensor& a, const Tensor& b);

}  // namespace peftcpp
