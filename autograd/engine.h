// The backward engine: runs nodes in reverse topological order, summing gradients that meet.
#pragma once

#include "tensor/tensor.h"

namespace peftcpp {

/// Computes gradients of `roots` (seeded with `grad_roots`, ones for scalars when undefined)
/// and accumulates them into the .grad of every leaf that requires grad.
void run_backward(const TensorList& roots, const TensorList& grad_roots, bool retain_graph);

/// Gradients of `outputs` w.r.t. `inputs` without touching .grad (torch.autograd.grad).
/// `allow_unused`: inputs that do not affect outputs get undefined tensors instead of an error.
TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs = {},
                bool retain_graph = false, bool allow_unused = false);

}  // namespace peftcpp
