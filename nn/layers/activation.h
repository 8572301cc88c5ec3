// Activation modules (torch names) and the transformers ACT2FN factory.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nn/module.h"
#include "tensor/ops/random.h"

namespace peftcpp::nn {

/// An element-wise function as a module; type_name is the torch / transformers class name.
class Activation : public UnaryModule {
 public:
  using Fn = std::function<Tensor(const Tensor&)>;
  Activation(std::string type_name, Fn fn, std::string extra = "")
      : type_name_(std::move(type_name)), extra_(std::move(extra)), fn_(std::move(fn)) {}
  std::string type_name() const override {
    return type_name_;
  }
  std::string extra_repr() const override {
    return extra_;
  }
  Tensor forward(const Tensor& x) override {
    return fn_(x);
  }

 private:
  std::string type_name_, extra_;
  Fn fn_;
};

class ReLU : public Activation {
 public:
  ReLU();
};
/// approximate: "none" (erf) or "tanh".
class GELU : public Activation {
 public:
  explicit GELU(const std::string& approximate = "none");
};
class SiLU : public Activation {
 public:
  SiLU();
};
class Tanh : public Activation {
 public:
  Tanh();
};
class Sigmoid : public Activation {
 public:
  Sigmoid();
};

/// transformers ACT2FN: "gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "gelu_accurate",
/// "gelu_python", "gelu_10", "quick_gelu", "relu", "relu2", "relu6", "leaky_relu", "silu",
/// "swish", "sigmoid", "tanh", "mish", "linear". Throws ValueError listing them otherwise.
std::shared_ptr<Activation> get_activation(const std::string& name);
/// The names get_activation accepts.
std::vector<std::string> activation_names();

/// Inverted dropout (scale 1/(1-p) in training, identity in eval). nullptr = default generator.
class Dropout : public UnaryModule {
 public:
  explicit Dropout(double p = 0.5, Generator* gen = nullptr);
  std::string type_name() const override {
    return "Dropout";
  }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& x) override;

  double p;
  Generator* generator;
};

}  // namespace peftcpp::nn
