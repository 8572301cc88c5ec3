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
/// LoRA's forward with one adapter, x W^T + bias + scale * (x_a A^T) B^T, with A [r, in] and
/// B [out, r]: three GEMMs accumulating into one output, so the only extra activation kept is
/// x_a A^T ([tokens, r]); its backward likewise accumulates dx in place. x_a is the adapter's
/// (dropped-out) input, often x itself.
Tensor lora_linear(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& x_a, const Tensor& lora_a,
                   const Tensor& lora_b, double scale);
Tensor outer(const Tensor& a, const Tensor& b);
Tensor kron(const Tensor& a, const Tensor& b);

}  // namespace peftcpp
