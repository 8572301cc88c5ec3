// Finite-difference gradient check in float64 (torch.autograd.gradcheck, projected form):
// for random output weights v, compares the analytic v^T J (one backward pass) with central
// differences of v . f(x) for every input element.
#pragma once

#include <functional>
#include <string>

#include "tensor/tensor.h"

namespace peftcpp {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
  int num_projections = 2;
  std::uint64_t seed = 1234;
};

struct GradcheckResult {
  bool ok = true;
  std::string message;  // first mismatch: input, element, analytic vs numeric
};

/// `f` maps the inputs to one output tensor (any shape). Inputs must be float64; only those with
/// requires_grad are checked.
GradcheckResult gradcheck(const std::function<Tensor(const TensorList&)>& f, const TensorList& inputs,
                          const GradcheckOptions& options = {});

}  // namespace peftcpp
