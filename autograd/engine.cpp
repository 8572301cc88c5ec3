// Reverse-mode execution: dependency counting over the graph reachable from the roots, then a
// ready queue ordered by creation (latest first, as PyTorch), summing gradients that meet at a
// node's input. Nodes release their saved tensors right after running unless retain_graph.
#include "autograd/engine.h"

#include <map>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "tensor/ops.h"

namespace peftcpp {
namespace {

struct NodeOrder {
  bool operator()(const Node* a, const Node* b) const {
    return a->sequence_nr < b->sequence_nr;
  }
};

struct Capture {
  std::size_t slot;
};

void accumulate_into(TensorList& buffer, std::size_t i, const Tensor& g) {
  if (buffer.size() <= i) buffer.resize(i + 1);
  if (!buffer[i].defined()) {
    buffer[i] = g;
  } else {
    buffer[i] = add(buffer[i], g);
  }
}

// Runs the graph. With `captures` non-empty (grad() mode) leaves are not accumulated into and the
// gradients arriving at the captured (node, input_nr) pairs are returned instead.
TensorList execute(const TensorList& roots, const TensorList& grad_roots, bool retain_graph,
                   const std::map<std::pair<Node*, std::uint32_t>, std::size_t>* captures, std::size_t n_captures) {
  PEFTCPP_CHECK(roots.size() == grad_roots.size() || grad_roots.empty(), "[backward] got ", roots.size(),
                " outputs but ", grad_roots.size(), " gradients");
  NoGradGuard no_grad;  // backward formulas do not record (no double backward)
  std::unordered_map<Node*, TensorList> buffers;
  std::unordered_map<Node*, int> deps;
  std::vector<std::shared_ptr<Node>> keep;  // keeps nodes alive while running
  std::vector<Node*> root_nodes;

  for (std::size_t r = 0; r < roots.size(); ++r) {
    const Tensor& root = roots[r];
    PEFTCPP_CHECK(root.defined(), "[backward] undefined output tensor");
    PEFTCPP_CHECK(root.requires_grad(), "[backward] output ", r, " of shape ", shape_str(root.shape()),
                  " does not require grad and has no grad_fn (did every input have requires_grad=false, or "
                  "was it computed under NoGradGuard?)");
    Tensor g = grad_roots.empty() ? Tensor() : grad_roots[r];
    if (!g.defined()) {
      PEFTCPP_CHECK(root.numel() == 1, "[backward] grad can be implicitly created only for scalar outputs; got shape ",
                    shape_str(root.shape()));
      g = ones(root.shape(), root.dtype(), root.device());
    }
    PEFTCPP_CHECK_SHAPE(g.shape() == root.shape(), "[backward] gradient shape ", shape_str(g.shape()),
                        " does not match output shape ", shape_str(root.shape()));
    Edge e = gradient_edge(root);
    keep.push_back(e.fn);
    accumulate_into(buffers[e.fn.get()], e.input_nr, g);
    root_nodes.push_back(e.fn.get());
  }

  // Count dependencies (number of incoming edges) over the reachable graph.
  std::vector<Node*> stack(root_nodes.begin(), root_nodes.end());
  std::unordered_set<Node*> seen(root_nodes.begin(), root_nodes.end());
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges) {
      if (!e.valid()) continue;
      ++deps[e.fn.get()];
      if (seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
    }
  }

  TensorList captured(n_captures);
  std::priority_queue<Node*, std::vector<Node*>, NodeOrder> ready;
  std::unordered_set<Node*> queued;
  for (Node* n : root_nodes) {
    if (deps[n] == 0 && queued.insert(n).second) ready.push(n);
  }
  while (!ready.empty()) {
    Node* node = ready.top();
    ready.pop();
    TensorList in = std::move(buffers[node]);
    buffers.erase(node);
    in.resize(std::max(in.size(), node->output_shapes.size()));
    // Tensor hooks first, retain_grad hooks (id -1) last so they see the hooked gradient; then
    // captures for grad(), as PyTorch. A leaf's hooks normally run inside AccumulateGrad, which
    // grad() skips, so they run here in that case.
    for (bool retain_hooks : {false, true}) {
      for (const Node::PreHook& h : node->pre_hooks) {
        if ((h.id == -1) != retain_hooks) continue;
        if (h.output_nr < in.size() && in[h.output_nr].defined()) {
          Tensor r = h.fn(in[h.output_nr]);
          if (r.defined()) in[h.output_nr] = r;
        }
      }
    }
    const auto* leaf_sink = dynamic_cast<AccumulateGrad*>(node);
    const bool is_leaf_sink = leaf_sink != nullptr;
    if (captures) {
      if (is_leaf_sink && !in.empty() && in[0].defined() && leaf_sink->leaf()->autograd) {
        for (auto& [id, hook] : leaf_sink->leaf()->autograd->hooks) {
          Tensor r = hook(in[0]);
          if (r.defined()) in[0] = r;
        }
      }
      for (std::size_t i = 0; i < in.size(); ++i) {
        auto it = captures->find({node, static_cast<std::uint32_t>(i)});
        if (it != captures->end() && in[i].defined()) captured[it->second] = in[i];
      }
    }
    TensorList out;
    if (!(is_leaf_sink && captures)) {
      out = node->apply(std::move(in));
      if (!retain_graph) node->release();
    }
    for (std::size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.valid()) continue;
      if (i < out.size() && out[i].defined()) accumulate_into(buffers[e.fn.get()], e.input_nr, out[i]);
      if (--deps[e.fn.get()] == 0 && queued.insert(e.fn.get()).second) ready.push(e.fn.get());
    }
  }
  return captured;
}

}  // namespace

void run_backward(const TensorList& roots, const TensorList& grad_roots, bool retain_graph) {
  execute(roots, grad_roots, retain_graph, nullptr, 0);
}

TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs,
                bool retain_graph, bool allow_unused) {
  std::map<std::pair<Node*, std::uint32_t>, std::size_t> captures;
  std::vector<std::shared_ptr<Node>> keep;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    PEFTCPP_CHECK(inputs[i].defined() && inputs[i].requires_grad(), "[grad] input ", i,
                  " does not require grad");
    Edge e = gradient_edge(inputs[i]);
    keep.push_back(e.fn);
    captures[{e.fn.get(), e.input_nr}] = i;
  }
  TensorList result = execute(outputs, grad_outputs, retain_graph, &captures, inputs.size());
  for (std::size_t i = 0; i < result.size(); ++i) {
    if (!result[i].defined() && !allow_unused) {
      throw ValueError(detail::concat("[grad] input ", i, " of shape ", shape_str(inputs[i].shape()),
                                      " was not used to compute the outputs (pass allow_unused=true)"));
    }
  }
  return result;
}

}  // namespace peftcpp
