#include "autograd/node.h"

#include <atomic>

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace peftcpp {
namespace {
std::atomic<std::uint64_t> g_sequence_nr{0};
thread_local bool t_grad_enabled = true;
}  // namespace

bool GradMode::is_enabled() {
  return t_grad_enabled;
}
void GradMode::set_enabled(bool enabled) {
  t_grad_enabled = enabled;
}

Node::Node() : sequence_nr(g_sequence_nr.fetch_add(1, std::memory_order_relaxed)) {}

SavedTensor::SavedTensor(const Tensor& t) {
  if (t.defined()) {
    data_ = t.detach();
    version_ = t.storage()->version();
  }
}

Tensor SavedTensor::get(const char* op) const {
  if (data_.defined() && data_.storage()->version() != version_) {
    throw ValueError(detail::concat(
        "[autograd] a tensor of shape ", shape_str(data_.shape()), " saved by ", op,
        " for backward was modified in place afterwards (version ", version_, " -> ",
        data_.storage()->version(), "); use an out-of-place op or clone() before modifying it"));
  }
  return data_;
}

TensorList FunctionNode::apply(TensorList&& grad_outputs) {
  if (!fn_) {
    throw ValueError("[autograd] trying to backward through " + name_ +
                     " a second time (its saved tensors were freed); pass retain_graph=true to the "
                     "first backward if you need to backward twice");
  }
  for (std::size_t i = 0; i < grad_outputs.size(); ++i) {
    if (!grad_outputs[i].defined()) {
      grad_outputs[i] = zeros(output_shapes[i], output_dtypes[i], output_devices[i]);
    }
  }
  return fn_(grad_outputs);
}

TensorList AccumulateGrad::apply(TensorList&& grad_outputs) {
  Tensor g = grad_outputs.at(0);
  if (!g.defined()) return {};
  AutogradMeta& meta = *leaf_->autograd;
  for (auto& [id, hook] : meta.hooks) {
    Tensor r = hook(g);
    if (r.defined()) g = r;
  }
  if (g.shape() != leaf_->shape) {
    throw ShapeError("[autograd] gradient of shape " + shape_str(g.shape()) + " for a leaf of shape " +
                     shape_str(leaf_->shape));
  }
  NoGradGuard no_grad;
  if (g.dtype() != leaf_->dtype) g = g.to(leaf_->dtype);
  if (!meta.grad.defined()) {
    meta.grad = g.contiguous();
    if (meta.grad.storage() == g.storage()) meta.grad = g.clone();
  } else {
    meta.grad.add_(g);
  }
  return {};
}

bool any_requires_grad(const TensorList& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs) {
    if (t.defined() && t.requires_grad()) return true;
  }
  return false;
}

Edge gradient_edge(const Tensor& t) {
  const auto& meta = t.impl()->autograd;
  if (!meta || !meta->requires_grad) return {};
  if (meta->grad_fn) return Edge{meta->grad_fn, meta->output_nr};
  std::shared_ptr<Node> acc = meta->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl());
    meta->grad_accumulator = acc;
  }
  return Edge{acc, 0};
}

bool record_function(const std::string& name, const TensorList& inputs, TensorList& outputs,
                     FunctionNode::BackwardFn fn) {
  if (!any_requires_grad(inputs)) return false;
  auto node = std::make_shared<FunctionNode>(name, std::move(fn));
  node->next_edges.reserve(inputs.size());
  for (const Tensor& in : inputs) {
    node->next_edges.push_back(in.defined() && in.requires_grad() ? gradient_edge(in) : Edge{});
  }
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    Tensor& out = outputs[i];
    node->output_shapes.push_back(out.shape());
    node->output_dtypes.push_back(out.dtype());
    node->output_devices.push_back(out.device());
    if (!is_floating_point(out.dtype())) continue;  // integer outputs (indices) carry no gradient
    auto meta = std::make_shared<AutogradMeta>();
    meta->requires_grad = true;
    meta->grad_fn = node;
    meta->output_nr = static_cast<std::uint32_t>(i);
    out.impl()->autograd = std::move(meta);
  }
  return true;
}

}  // namespace peftcpp
