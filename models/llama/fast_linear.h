// Inference shortcut for the LLaMA family's projections: a decode step multiplies one (or a few)
// rows by each weight, where the packed GEMM would copy the whole weight every call. An exact
// nn::Linear applied without autograd to at most kMaxGemvRows float32 rows runs as a
// weight-streaming GEMV (each weight row read once, dot products with every input row); anything
// else (training, PEFT layers, other dtypes, longer inputs) goes through module->forward.
// TODO(lead): this belongs in the CPU GEMM dispatch (m small, B transposed); move it there.
#pragma once

#include <memory>
#include <vector>

#include "nn/module.h"

namespace peftcpp::models::llama {

inline constexpr std::int64_t kMaxGemvRows = 8;

/// module->forward(x), or the same product computed by the GEMV path (see above).
Tensor apply_linear(const std::shared_ptr<nn::UnaryModule>& module, const Tensor& x);
/// apply_linear of each module to the same `x`; when every one takes the GEMV path they share
/// one parallel region (q/k/v, gate/up).
std::vector<Tensor> apply_linears(
    const std::vector<std::shared_ptr<nn::UnaryModule>>& modules, const Tensor& x);

/// y[r, n] = x[r, k] @ w[n, k]^T (+ bias[n]), all float32 contiguous on the CPU; r <= kMaxGemvRows.
void gemv_rows(
    const float* x,
    std::int64_t rows,
    std::int64_t k,
    const float* w,
    std::int64_t n,
    const float* bias,
    float* y);

}  // namespace peftcpp::models::llama
