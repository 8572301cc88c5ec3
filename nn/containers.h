// Container modules: ModuleList (children "0", "1", ...), ModuleDict and ParameterDict keyed by
// name (PEFT keeps one entry per adapter: `lora_A.default.weight`), and Sequential.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "nn/module.h"

namespace peftcpp::nn {

class ModuleList : public Module {
 public:
  ModuleList() = default;
  explicit ModuleList(const std::vector<ModulePtr>& modules);
  std::string type_name() const override {
    return "ModuleList";
  }
  /// Appends a module as child str(size()).
  void push_back(ModulePtr module);
  std::size_t size() const {
    return child_slots().size();
  }
  bool empty() const {
    return size() == 0;
  }
  /// The i-th module (negative counts from the end); throws IndexError when out of range.
  ModulePtr at(std::int64_t i) const;
  ModulePtr operator[](std::int64_t i) const {
    return at(i);
  }
  template <typename T>
  std::shared_ptr<T> at_as(std::int64_t i) const {
    return std::dynamic_pointer_cast<T>(at(i));
  }
};

class ModuleDict : public Module {
 public:
  ModuleDict() = default;
  std::string type_name() const override {
    return "ModuleDict";
  }
  /// Adds `module` under `key`, or replaces the entry when the key exists (as Python's d[k] = m).
  void insert(const std::string& key, ModulePtr module);
  bool contains(const std::string& key) const {
    return has_child(key);
  }
  /// Throws ValueError naming the key and the existing keys when absent.
  ModulePtr at(const std::string& key) const;
  ModulePtr operator[](const std::string& key) const {
    return at(key);
  }
  template <typename T>
  std::shared_ptr<T> at_as(const std::string& key) const {
    return std::dynamic_pointer_cast<T>(at(key));
  }
  /// Removes the entry and returns it (throws when absent). Keys stay in insertion order.
  ModulePtr pop(const std::string& key);
  std::vector<std::string> keys() const;
  std::size_t size() const {
    return child_slots().size();
  }
};

class ParameterDict : public Module {
 public:
  ParameterDict() = default;
  std::string type_name() const override {
    return "ParameterDict";
  }
  /// Registers `value` as the parameter `key` (replaces the value when it exists).
  Tensor& insert(const std::string& key, Tensor value, bool requires_grad = true);
  bool contains(const std::string& key) const;
  Tensor& at(const std::string& key);
  Tensor& operator[](const std::string& key) {
    return at(key);
  }
  std::vector<std::string> keys() const;
  std::size_t size() const {
    return parameter_slots().size();
  }
  std::string extra_repr() const override;
};

/// Runs unary children in order.
class Sequential : public UnaryModule {
 public:
  Sequential() = default;
  explicit Sequential(const std::vector<std::shared_ptr<UnaryModule>>& modules);
  std::string type_name() const override {
    return "Sequential";
  }
  void push_back(std::shared_ptr<UnaryModule> module);
  Tensor forward(const Tensor& x) override;
  std::size_t size() const {
    return child_slots().size();
  }
};

}  // namespace peftcpp::nn
