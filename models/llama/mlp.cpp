#include "models/llama/mlp.h"

#include "models/llama/fast_linear.h"
#include "nn/functional.h"
#include "nn/layers/activation.h"
#include "nn/layers/linear.h"
#include "tensor/ops.h"

namespace peftcpp::models::llama {

LlamaMLP::LlamaMLP(const LlamaSettings& s, const nn::FactoryOptions& fo) : prefix_(s.prefix) {
  gate_proj = std::make_shared<nn::Linear>(s.hidden_size, s.intermediate_size, s.mlp_bias, fo);
  up_proj = std::make_shared<nn::Linear>(s.hidden_size, s.intermediate_size, s.mlp_bias, fo);
  down_proj = std::make_shared<nn::Linear>(s.intermediate_size, s.hidden_size, s.mlp_bias, fo);
  act_fn = nn::get_activation(s.hidden_act);
  register_module("gate_proj", &gate_proj);
  register_module("up_proj", &up_proj);
  register_module("down_proj", &down_proj);
  register_module("act_fn", &act_fn);
}

Tensor LlamaMLP::forward(const Tensor& x) {
  const std::vector<Tensor> gate_up = apply_linears({gate_proj, up_proj}, x);
  // SiLU gating goes through the fused silu_mul node (one pass forward, one backward).
  Tensor gated = dynamic_cast<const nn::SiLU*>(act_fn.get()) != nullptr
                     ? nn::functional::silu_mul(gate_up[0], gate_up[1])
                     : mul(act_fn->forward(gate_up[0]), gate_up[1]);
  return apply_linear(down_proj, gated);
}

}  // namespace peftcpp::models::llama
