// LLaMA-family feed-forward (<Prefix>MLP): down_proj(act_fn(gate_proj(x)) * up_proj(x)) (SwiGLU
// with the default silu), optional biases (llama's mlp_bias).
#pragma once

#include <memory>

#include "models/llama/llama_settings.h"
#include "nn/module.h"
#include "nn/options.h"

namespace peftcpp::models::llama {

class LlamaMLP : public nn::UnaryModule {
 public:
  LlamaMLP(const LlamaSettings& s, const nn::FactoryOptions& fo);
  std::string type_name() const override {
    return prefix_ + "MLP";
  }
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<nn::UnaryModule> gate_proj, up_proj, down_proj, act_fn;

 private:
  std::string prefix_;
};

}  // namespace peftcpp::models::llama
