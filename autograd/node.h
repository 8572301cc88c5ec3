// Autograd graph: nodes (one per recorded op), edges to the nodes of the op's inputs, and the
// per-tensor AutogradMeta slot.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace peftcpp {

class Node;

/// Where a gradient goes: input `input_nr` of `fn` (an AccumulateGrad for leaves).
struct Edge {
  std::shared_ptr<Node> fn;
  std::uint32_t input_nr = 0;
  bool valid() const {
    return fn != nullptr;
  }
};

class Node : public std::enable_shared_from_this<Node> {
 public:
  Node();
  virtual ~Node() = default;
  /// Gradients of the node's inputs (one per next_edge; undefined = no gradient) given the
  /// gradients of its outputs (undefined entries for outputs that received none).
  virtual TensorList apply(TensorList&& grad_outputs) = 0;
  virtual std::string name() const = 0;
  /// Frees saved tensors (called once backward has used the node, unless retain_graph).
  virtual void release() {}

  std::vector<Edge> next_edges;
  /// Shapes/dtypes of the outputs, to materialise zeros for outputs without a gradient.
  std::vector<Shape> output_shapes;
  std::vector<DType> output_dtypes;
  std::vector<Device> output_devices;
  std::uint64_t sequence_nr;
  bool released = false;
  /// Hooks on non-leaf tensors: run on the gradient of output `output_nr` before apply().
  struct PreHook {
    int id;
    std::uint32_t output_nr;
    GradHook fn;
  };
  std::vector<PreHook> pre_hooks;
};

/// A tensor saved for backward, with the storage version at save time: using it after an
/// in-place change raises an error instead of silently computing a wrong gradient.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  /// The saved value; throws ValueError naming `op` if it was modified in place since saving.
  Tensor get(const char* op) const;
  void reset() {
    data_ = Tensor();
  }
  bool defined() const {
    return data_.defined();
  }

 private:
  Tensor data_;
  std::uint64_t version_ = 0;
};

/// Backward given as a function (most ops): receives output grads, returns input grads.
class FunctionNode final : public Node {
 public:
  using BackwardFn = std::function<TensorList(const TensorList& grad_outputs)>;
  FunctionNode(std::string name, BackwardFn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  TensorList apply(TensorList&& grad_outputs) override;
  std::string name() const override {
    return name_;
  }
  void release() override {
    fn_ = nullptr;
    released = true;
  }

 private:
  std::string name_;
  BackwardFn fn_;
};

/// Sink node of a leaf tensor: adds the incoming gradient to its .grad.
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : leaf_(std::move(leaf)) {}
  TensorList apply(TensorList&& grad_outputs) override;
  std::string name() const override {
    return "AccumulateGrad";
  }
  const std::shared_ptr<TensorImpl>& leaf() const {
    return leaf_;
  }

 private:
  std::shared_ptr<TensorImpl> leaf_;
};

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;  // null for leaves
  std::uint32_t output_nr = 0;
  std::weak_ptr<Node> grad_accumulator;
  bool retains_grad = false;
  std::vector<std::pair<int, GradHook>> hooks;
  int next_hook_id = 0;
};

/// Records `fn` as the grad_fn of `outputs` if grad mode is on and any input requires grad.
/// Returns true when recorded. Inputs without requires_grad get invalid edges.
bool record_function(const std::string& name, const TensorList& inputs, TensorList& outputs,
                     FunctionNode::BackwardFn fn);
/// True when grad mode is on and any of `inputs` requires grad.
bool any_requires_grad(const TensorList& inputs);
/// The edge a gradient for `t` should flow along (grad_fn or the leaf's accumulator).
Edge gradient_edge(const Tensor& t);

}  // namespace peftcpp
