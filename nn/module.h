// nn::Module: the base of every layer and model, with PyTorch's bookkeeping.
//
// A module owns ordered registries of parameters, buffers and child modules. Names compose with
// dots exactly as PyTorch / HuggingFace spell them ("model.layers.0.self_attn.q_proj.weight"),
// which is what state dicts, safetensors checkpoints and PEFT's target matching rely on.
//
// Registries hold *slots*. A slot may be bound to a member of the derived class
// (`register_parameter("weight", &weight)`), so that `lin->weight` and `named_parameters()` always
// agree, also after `lin->weight = other` or `to(kBFloat16)`. Child slots bound to a member
// (`register_module("q_proj", &q_proj)`) are updated by `replace_child`, which is how PEFT swaps a
// Linear for a LoRA layer: declare such members with the base type the forward needs
// (e.g. `std::shared_ptr<UnaryModule>`).
//
// Modules are held by std::shared_ptr and are neither copyable nor movable (slots point into them).
#pragma once

#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace peftcpp::nn {

class Module;
using ModulePtr = std::shared_ptr<Module>;
/// A state dict: dotted name -> tensor (sorted by name; named_parameters() gives module order).
using StateDict = std::map<std::string, Tensor>;
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using NamedModules = std::vector<std::pair<std::string, ModulePtr>>;

/// What load_state_dict found (non-strict mode returns it instead of throwing).
struct LoadResult {
  std::vector<std::string> missing_keys;
  std::vector<std::string> unexpected_keys;
  bool ok() const {
    return missing_keys.empty() && unexpected_keys.empty();
  }
};

class Module : public std::enable_shared_from_this<Module> {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) = delete;
  Module& operator=(Module&&) = delete;

  /// The class name printed by repr ("Linear", "LlamaDecoderLayer", ...).
  virtual std::string type_name() const {
    return "Module";
  }
  /// The text inside the parentheses of the one-line repr ("in_features=4, out_features=3,
  /// bias=True").
  virtual std::string extra_repr() const {
    return "";
  }

  // ---- registration -----------------------------------------------------------------------
  /// Registers a parameter held by this module (an undefined tensor registers a "None" slot, as
  /// PyTorch's `register_parameter(name, None)`). Marks it requires_grad(requires_grad).
  Tensor& register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  /// Registers the member `*slot` (already holding its value) as a parameter.
  Tensor& register_parameter(const std::string& name, Tensor* slot, bool requires_grad = true);
  /// Buffers are state that is not trained (running stats, rotary inv_freq). Non-persistent
  /// buffers are left out of state_dict().
  Tensor& register_buffer(const std::string& name, Tensor value, bool persistent = true);
  Tensor& register_buffer(const std::string& name, Tensor* slot, bool persistent = true);
  /// Registers a child module (null registers a "None" slot).
  template <typename T>
  std::shared_ptr<T> register_module(const std::string& name, std::shared_ptr<T> module) {
    add_child_slot(name, module, nullptr);
    return module;
  }
  /// Registers the member `*slot` as a child; replace_child keeps the member in sync and rejects
  /// replacements that are not a T.
  template <typename T>
  std::shared_ptr<T> register_module(const std::string& name, std::shared_ptr<T>* slot) {
    auto bind = [slot](const ModulePtr& m) -> bool {
      std::shared_ptr<T> typed = std::dynamic_pointer_cast<T>(m);
      if (m && !typed)
        return false;
      *slot = typed;
      return true;
    };
    add_child_slot(name, *slot, std::move(bind));
    return *slot;
  }

  // ---- lookup -----------------------------------------------------------------------------
  /// Parameters of this module and its descendants, depth first in registration order, each
  /// tensor once (tied weights are listed under their first name), undefined slots skipped.
  NamedTensors named_parameters(const std::string& prefix = "", bool recurse = true) const;
  TensorList parameters(bool recurse = true) const;
  NamedTensors named_buffers(const std::string& prefix = "", bool recurse = true) const;
  TensorList buffers(bool recurse = true) const;
  /// This module ("" or `prefix`) and every descendant, pre-order, each module once.
  NamedModules named_modules(const std::string& prefix = "");
  /// Direct children in registration order.
  NamedModules named_children() const;
  std::vector<ModulePtr> children() const;
  std::vector<ModulePtr> modules();
  /// The descendant at dotted `path` ("" = this module); throws ValueError naming the path and
  /// the first component that does not exist.
  ModulePtr get_submodule(const std::string& path);
  template <typename T>
  std::shared_ptr<T> get_submodule_as(const std::string& path) {
    return std::dynamic_pointer_cast<T>(get_submodule(path));
  }
  /// The parameter (or buffer) at a dotted path; throws naming the path when absent.
  Tensor& get_parameter(const std::string& path);
  Tensor& get_buffer(const std::string& path);
  /// Direct parameter/buffer/child by local name (nullptr when absent).
  Tensor* find_parameter(const std::string& name);
  Tensor* find_buffer(const std::string& name);
  ModulePtr find_child(const std::string& name) const;
  bool has_child(const std::string& name) const;

  /// Replaces the module at dotted `path` (which must exist) by `module`, keeping its slot
  /// position; returns the old module. Throws ValueError naming the path when it is missing or
  /// when a typed member slot cannot hold the new module's type.
  ModulePtr replace_child(const std::string& path, ModulePtr module);
  /// replace_child, or registers a new child when the last component does not exist yet (the
  /// parent must exist).
  void set_submodule(const std::string& path, ModulePtr module);

  // ---- state ------------------------------------------------------------------------------
  /// Parameters and persistent buffers (detached, sharing storage), every name (tied weights
  /// appear under each name, as in PyTorch).
  StateDict state_dict(const std::string& prefix = "") const;
  /// Copies values into the existing tensors (cast to their dtype), as PyTorch: strict mode
  /// throws one ValueError listing ALL missing keys, unexpected keys and shape mismatches;
  /// non-strict mode loads every key that exists, returns the missing/unexpected lists and still
  /// throws (listing them all) when shapes do not match. Nothing is copied when it throws.
  /// assign=true makes the module hold the given tensors themselves (no copy: zero-copy loading
  /// of memory-mapped checkpoints), keeping each slot's requires_grad, as PyTorch's assign=True.
  LoadResult load_state_dict(const StateDict& state, bool strict = true, bool assign = false);

  // ---- modes and conversions --------------------------------------------------------------
  /// Sets training mode on this module and all descendants (affects Dropout etc.).
  Module& train(bool on = true);
  Module& eval() {
    return train(false);
  }
  bool is_training() const {
    return training_;
  }
  /// requires_grad on every parameter (freezing = requires_grad_(false)).
  Module& requires_grad_(bool on = true);
  /// Clears (set_to_none) or zeroes the gradients of every parameter.
  void zero_grad(bool set_to_none = true);
  /// Casts floating-point parameters and buffers (and their grads) in place: the tensors keep
  /// their identity, so optimizers and views of the module stay valid, as PyTorch's `.data =`.
  Module& to(DType dtype);
  Module& to(Device device);

  /// Applies `fn` to every module (children first, then this one), as torch's Module.apply.
  Module& apply(const std::function<void(Module&)>& fn);
  /// Number of elements over parameters (only trainable ones when `trainable_only`).
  std::int64_t num_parameters(bool trainable_only = false) const;

  /// Multi-line repr as PyTorch prints modules.
  std::string repr() const;

  /// shared_from_this() with an error that says what to do when the module is not owned by a
  /// std::shared_ptr (named_modules and get_submodule need that).
  ModulePtr self_ptr();

 protected:
  struct TensorSlot {
    std::string name;
    Tensor* ptr = nullptr;
    std::unique_ptr<Tensor> owned;
    bool persistent = true;
  };
  struct ChildSlot {
    std::string name;
    ModulePtr module;
    std::function<bool(const ModulePtr&)> bind;  // syncs a typed member; null when unbound
  };

  /// Removes a direct child / parameter slot (containers use these); returns the removed value.
  ModulePtr remove_child(const std::string& name);
  Tensor remove_parameter(const std::string& name);

  const std::vector<TensorSlot>& parameter_slots() const {
    return params_;
  }
  const std::vector<ChildSlot>& child_slots() const {
    return children_;
  }

 private:
  void add_child_slot(
      const std::string& name, const ModulePtr& module, std::function<bool(const ModulePtr&)> bind);
  void check_new_name(const std::string& name, const char* what) const;
  Tensor& add_tensor_slot(
      std::vector<TensorSlot>& slots,
      const std::string& name,
      Tensor* slot,
      Tensor value,
      bool persistent);
  ChildSlot* find_child_slot(const std::string& name);
  void repr_into(std::string& out, int indent) const;
  void convert_tensors(const std::function<Tensor(const Tensor&)>& fn);

  std::vector<TensorSlot> params_;
  std::vector<TensorSlot> buffers_;
  std::vector<ChildSlot> children_;
  bool training_ = true;
};

std::ostream& operator<<(std::ostream& os, const Module& m);

/// A module with one tensor in and one tensor out; the base of layers and of anything PEFT
/// may put in their place.
class UnaryModule : public Module {
 public:
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) {
    return forward(x);
  }
};

/// Replaces the data of `dst` by `value` (shape, dtype, device may change) keeping the TensorImpl
/// identity and its autograd leaf state, like PyTorch's `param.data = value`.
void set_data(Tensor& dst, const Tensor& value);

}  // namespace peftcpp::nn
