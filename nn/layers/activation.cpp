// Activations and Dropout.
#include "nn/layers/activation.h"

#include <cmath>
#include <utility>

#include "nn/detail/format.h"
#include "nn/functional.h"

namespace peftcpp::nn {

ReLU::ReLU() : Activation("ReLU", [](const Tensor& x) { return relu(x); }) {}
GELU::GELU(const std::string& approximate)
    : Activation(
          "GELU",
          [approximate](const Tensor& x) { return gelu(x, approximate); },
          approximate == "none" ? "" : "approximate='" + approximate + "'") {
  PEFTCPP_CHECK(
      approximate == "none" || approximate == "tanh",
      "[GELU] approximate must be 'none' or 'tanh', got '",
      approximate,
      "'");
}
SiLU::SiLU() : Activation("SiLU", [](const Tensor& x) { return silu(x); }) {}
Tanh::Tanh() : Activation("Tanh", [](const Tensor& x) { return peftcpp::tanh(x); }) {}
Sigmoid::Sigmoid() : Activation("Sigmoid", [](const Tensor& x) { return sigmoid(x); }) {}

namespace {

using Factory = std::shared_ptr<Activation> (*)();

template <typename T>
std::shared_ptr<Activation> make() {
  return std::make_shared<T>();
}

std::shared_ptr<Activation> act(const char* type, Activation::Fn fn, std::string extra = "") {
  return std::make_shared<Activation>(type, std::move(fn), std::move(extra));
}

Tensor gelu_tanh(const Tensor& x) {
  return gelu(x, "tanh");
}

const std::vector<std::pair<std::string, Factory>>& registry() {
  static const std::vector<std::pair<std::string, Factory>> table = {
      {"gelu", [] { return act("GELUActivation", [](const Tensor& x) { return gelu(x); }); }},
      {"gelu_python",
       [] { return act("GELUActivation", [](const Tensor& x) { return gelu(x); }); }},
      {"gelu_new", [] { return act("NewGELUActivation", gelu_tanh); }},
      {"gelu_fast", [] { return act("FastGELUActivation", gelu_tanh); }},
      {"gelu_accurate", [] { return act("AccurateGELUActivation", gelu_tanh); }},
      {"gelu_pytorch_tanh", [] { return act("PytorchGELUTanh", gelu_tanh); }},
      {"gelu_10",
       [] {
         return act(
             "ClippedGELUActivation", [](const Tensor& x) { return clamp(gelu(x), -10.0, 10.0); });
       }},
      {"quick_gelu",
       [] {
         return act(
             "QuickGELUActivation", [](const Tensor& x) { return mul(x, sigmoid(mul(x, 1.702))); });
       }},
      {"relu", make<ReLU>},
      {"relu2",
       [] {
         return act("ReLUSquaredActivation", [](const Tensor& x) { return square(relu(x)); });
       }},
      {"relu6", [] { return act("ReLU6", [](const Tensor& x) { return clamp(x, 0.0, 6.0); }); }},
      {"leaky_relu",
       [] {
         return act(
             "LeakyReLU",
             [](const Tensor& x) { return maximum(x, mul(x, 0.01)); },
             "negative_slope=0.01");
       }},
      {"silu", make<SiLU>},
      {"swish", make<SiLU>},
      {"sigmoid", make<Sigmoid>},
      {"tanh", make<Tanh>},
      {"mish",
       [] {
         return act("Mish", [](const Tensor& x) { return mul(x, peftcpp::tanh(softplus(x))); });
       }},
      {"linear", [] { return act("LinearActivation", [](const Tensor& x) { return x; }); }},
  };
  return table;
}

}  // namespace

std::vector<std::string> activation_names() {
  std::vector<std::string> out;
  for (const auto& [name, f] : registry()) out.push_back(name);
  return out;
}

std::shared_ptr<Activation> get_activation(const std::string& name) {
  for (const auto& [n, f] : registry()) {
    if (n == name)
      return f();
  }
  std::string known;
  for (const std::string& n : activation_names()) known += (known.empty() ? "" : ", ") + n;
  throw ValueError("[get_activation] unknown activation '" + name + "'; supported: " + known);
}

Dropout::Dropout(double p_, Generator* gen) : p(p_), generator(gen) {
  PEFTCPP_CHECK(p >= 0.0 && p <= 1.0, "[Dropout] probability must be in [0, 1], got ", p);
}

std::string Dropout::extra_repr() const {
  return "p=" + detail::py_float(p) + ", inplace=False";
}

Tensor Dropout::forward(const Tensor& x) {
  return functional::dropout(x, p, is_training(), generator);
}

}  // namespace peftcpp::nn
