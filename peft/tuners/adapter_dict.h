// Containers keyed by adapter name, as PEFT's nn.ModuleDict / nn.ParameterDict / BufferDict
// (port of peft/tuners/_buffer_dict.py @5d602fd), and uniform operations over the three kinds.
//
// A tuner layer keeps one container per adapter tensor family (lora_A, lora_embedding_A,
// lora_velora_embed, ...); the entry key is the adapter name, which is what puts the adapter
// name into parameter names (`lin0.lora_A.default.weight`, `emb.lora_embedding_A.default`).
#pragma once

#include <string>
#include <vector>

#include "nn/containers.h"
#include "nn/module.h"

namespace peftcpp {

/// nn::ParameterDict that can also remove entries (delete_adapter).
class AdapterParameterDict : public nn::ParameterDict {
 public:
  /// Removes `key` and returns its tensor; throws ValueError naming the key when absent.
  Tensor pop(const std::string& key);
};

/// PEFT's BufferDict: tensors keyed by adapter name, stored as buffers (saved in the state dict
/// when `persistent`, never trained).
class BufferDict : public nn::Module {
 public:
  explicit BufferDict(bool persistent = true) : persistent_(persistent) {}
  std::string type_name() const override {
    return "BufferDict";
  }
  /// Adds or replaces the entry `key`.
  Tensor& insert(const std::string& key, Tensor value);
  bool contains(const std::string& key) const;
  /// Throws ValueError naming the key and the existing keys when absent.
  Tensor& at(const std::string& key);
  /// Keys with a value, in insertion order; entries sharing one tensor (PEFT's VeRA projections)
  /// are each listed (named_buffers() would list a shared tensor once).
  std::vector<std::string> keys() const;
  /// Removes `key` (nn::Module cannot unregister a buffer, so the slot stays, empty: it is left
  /// out of keys(), named_buffers() and state_dict() and is reused by a later insert).
  void pop(const std::string& key);

 private:
  bool persistent_;
  std::vector<std::string> order_;  // every key ever inserted (slots are never unregistered)
};

namespace adapter_dict {

/// True for the three container kinds above (and plain nn::ModuleDict / nn::ParameterDict).
bool is_adapter_dict(const nn::Module& m);
/// Keys of a container (empty for other modules).
std::vector<std::string> keys(const nn::Module& dict);
bool contains(const nn::Module& dict, const std::string& key);
/// Removes the entry when present.
void erase(nn::Module& dict, const std::string& key);
/// requires_grad_ on the parameters of one entry (PEFT's _set_layer_requires_grad).
void set_requires_grad(nn::Module& dict, const std::string& key, bool requires_grad);

}  // namespace adapter_dict
}  // namespace peftcpp
