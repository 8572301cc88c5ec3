// Activation checkpointing.
#include "nn/checkpoint.h"

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "tensor/ops.h"

namespace peftcpp::nn {
namespace {

struct RngState {
  std::uint64_t seed = 0, offset = 0;
};

RngState save_rng() {
  return {default_generator().seed(), default_generator().offset()};
}

void restore_rng(const RngState& s) {
  default_generator().manual_seed(s.seed);
  default_generator().set_offset(s.offset);
}

}  // namespace

TensorList checkpoint_multi(
    const CheckpointMultiFn& fn, const TensorList& inputs, bool preserve_rng_state) {
  PEFTCPP_CHECK(static_cast<bool>(fn), "[checkpoint] fn is empty");
  const RngState rng = save_rng();
  TensorList outs;
  {
    NoGradGuard ng;
    TensorList detached;
    for (const Tensor& t : inputs) detached.push_back(t.defined() ? t.detach() : Tensor());
    outs = fn(detached);
  }
  for (Tensor& o : outs) {
    PEFTCPP_CHECK(o.defined(), "[checkpoint] fn returned an undefined tensor");
    o = o.detach();  // a fresh handle, so that recording does not touch an input's TensorImpl
  }
  if (!any_requires_grad(inputs))
    return outs;
  std::vector<bool> needs;
  for (const Tensor& t : inputs) needs.push_back(t.defined() && t.requires_grad());
  std::vector<SavedTensor> saved_inputs;
  for (const Tensor& t : inputs) saved_inputs.emplace_back(t);
  record_function(
      "CheckpointBackward",
      inputs,
      outs,
      [fn, saved_inputs, needs, rng, preserve_rng_state](const TensorList& grads) -> TensorList {
        TensorList detached;
        for (std::size_t i = 0; i < saved_inputs.size(); ++i) {
          Tensor d =
              saved_inputs[i].defined() ? saved_inputs[i].get("checkpoint").detach() : Tensor();
          if (d.defined() && needs[i])
            d.requires_grad_(true);
          detached.push_back(d);
        }
        const RngState now = save_rng();
        if (preserve_rng_state)
          restore_rng(rng);
        TensorList recomputed;
        {
          EnableGradGuard eg;
          recomputed = fn(detached);
        }
        if (preserve_rng_state)
          restore_rng(now);
        TensorList roots, seeds;
        for (std::size_t i = 0; i < recomputed.size() && i < grads.size(); ++i) {
          if (recomputed[i].defined() && recomputed[i].requires_grad()) {
            roots.push_back(recomputed[i]);
            seeds.push_back(grads[i]);
          }
        }
        if (!roots.empty())
          run_backward(roots, seeds, false);
        TensorList out;
        for (std::size_t i = 0; i < detached.size(); ++i) {
          out.push_back(needs[i] && detached[i].defined() ? detached[i].grad() : Tensor());
        }
        return out;
      });
  return outs;
}

Tensor checkpoint(const CheckpointFn& fn, const TensorList& inputs, bool preserve_rng_state) {
  PEFTCPP_CHECK(static_cast<bool>(fn), "[checkpoint] fn is empty");
  return checkpoint_multi(
      [fn](const TensorList& in) { return TensorList{fn(in)}; }, inputs, preserve_rng_state)[0];
}

}  // namespace peftcpp::nn
