// Activation checkpointing (torch.utils.checkpoint, reentrant variant).
//
// The forward runs `fn` under NoGradGuard, so none of its intermediate activations are kept, and
// records ONE autograd node on the outputs. Its backward re-runs `fn` with grad enabled on
// detached copies of the inputs (same requires_grad), backpropagates the incoming gradients
// through that fresh graph, and hands the inputs' gradients on. Parameters used inside `fn`
// receive their gradients during that inner backward (accumulated into .grad), exactly as
// PyTorch's reentrant checkpoint; it is therefore meant for backward(), not for grad().
//
// As in PyTorch, at least one input must require grad for anything to be recorded (with a
// frozen embedding, make its output require grad first: PEFT's enable_input_require_grads).
// With preserve_rng_state the default generator is rewound for the recomputation so that
// dropout draws the same masks.
#pragma once

#include <functional>

#include "tensor/tensor.h"

namespace peftcpp::nn {

using CheckpointFn = std::function<Tensor(const TensorList&)>;
using CheckpointMultiFn = std::function<TensorList(const TensorList&)>;

Tensor checkpoint(const CheckpointFn& fn, const TensorList& inputs, bool preserve_rng_state = true);
TensorList checkpoint_multi(
    const CheckpointMultiFn& fn, const TensorList& inputs, bool preserve_rng_state = true);

}  // namespace peftcpp::nn
