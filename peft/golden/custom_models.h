// The small custom models of the golden `peft` group, rebuilt from meta.json's `base_model`
// (layout: shared/golden/README.md). No case-specific code: the model is the `modules` dict
// (Linear, Conv1d, Conv2d, Embedding, transformers.Conv1D, LayerNorm, ReLU, Flatten with their
// hyper-parameters, registered in file order under their names) and the `forward` expression,
// nested calls such as "out = lin0(flatten(relu(conv2d(X))))" over module names and the builtins
// relu / flatten / gelu / silu / tanh / sigmoid.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "io/json/json.h"
#include "nn/module.h"

namespace peftcpp::peft {

class CustomModel : public nn::UnaryModule {
 public:
  /// Builds the model of `base_model` (meta.json); throws ValueError naming what it cannot read.
  explicit CustomModel(const Json& base_model);
  std::string type_name() const override {
    return "CustomModel";
  }
  Tensor forward(const Tensor& x) override;

 private:
  struct Call {
    std::string fn;  // module or builtin name; empty = the input
    std::unique_ptr<Call> arg;
  };
  Tensor eval(const Call& call, const Tensor& x);
  std::map<std::string, std::shared_ptr<nn::UnaryModule>> slots_;  // stable member slots
  std::unique_ptr<Call> expr_;
};

/// One module of the `modules` dict.
std::shared_ptr<nn::UnaryModule> make_custom_module(const std::string& name, const Json& spec);

}  // namespace peftcpp::peft
