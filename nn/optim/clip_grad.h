// torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
#pragma once

#include "tensor/tensor.h"

namespace peftcpp::nn {

/// Scales every defined .grad in place by min(1, max_norm / (total_norm + 1e-6)) and returns the
/// total norm before clipping: the norm_type-norm of the per-tensor norms (inf = max |g|),
/// computed in the gradients' dtype as PyTorch. Params without grad are ignored (returns 0 when
/// none has one). error_if_nonfinite: throw ValueError when the total norm is NaN or inf.
double clip_grad_norm_(
    const TensorList& params,
    double max_norm,
    double norm_type = 2.0,
    bool error_if_nonfinite = false);
/// Clamps every defined .grad into [-clip_value, clip_value] in place.
void clip_grad_value_(const TensorList& params, double clip_value);

}  // namespace peftcpp::nn
