// LoRA's layer_replication (PEFT's replicate_layers) on the golden LLaMA checkpoint: the
// replicated model equals a deeper model whose extra layers hold copies of the source layers'
// weights, repeated layers share their base tensors, and every copy gets its own adapter.
#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "io/safetensors/tensor_io.h"
#include "models/model.h"
#include "peft/mapping.h"
#include "peft/tuners/lora/config.h"
#include "tests/peft/golden_dir.h"
#include "tensor/ops.h"

using namespace peftcpp;
namespace fs = std::filesystem;

TEST_CASE("layer_replication [[0,2],[1,2]] equals a 3-layer model with layer 1 repeated") {
  const fs::path dir = test::golden_dir() / "models" / "llama_causal_lm";
  if (test::golden_dir().empty() || !fs::exists(dir)) return;
  models::ModelPtr base = models::from_pretrained(dir);
  REQUIRE(base->config().dims().num_hidden_layers == 2);

  // The reference: a 3-layer model built from the same config, layer k loaded from source k'.
  Json cfg = Json::parse_file(dir / "config.json");
  cfg["num_hidden_layers"] = 3;
  models::ModelPtr ref = models::from_config(*hf_config_from_json(cfg));
  TensorMap ckpt = load_safetensors((dir / "model.safetensors").string());
  const std::string from[3] = {"model.layers.0.", "model.layers.1.", "model.layers.1."};
  TensorMap state;
  for (const auto& [k, v] : ckpt) {
    if (k.rfind("model.layers.", 0) != 0) state[k] = v;
  }
  for (int l = 0; l < 3; ++l)
    for (const auto& [k, v] : ckpt)
      if (k.rfind(from[l], 0) == 0) state["model.layers." + std::to_string(l) + "." + k.substr(from[l].size())] = v;
  ref->load_state_dict(state);
  ref->eval();

  LoraConfig lc;
  lc.r = 2;
  lc.lora_alpha = 4;
  lc.target_modules = std::vector<std::string>{"q_proj", "v_proj"};
  lc.layer_replication = std::vector<std::pair<int, int>>{{0, 2}, {1, 2}};
  lc.task_type = TaskType::CAUSAL_LM;
  auto peft = get_peft_model(base, lc);
  peft->eval();
  CHECK(base->config().dims().num_hidden_layers == 3);

  const Tensor ids = tensor<std::int64_t>({1, 5, 7, 9, 2, 3}, {1, 6});
  models::ModelInputs in;
  in.input_ids = ids;
  NoGradGuard no_grad;
  // B = 0 at init: the adapted model is the replicated base model.
  CHECK(max_abs_diff(peft->forward(in).logits, ref->forward(in).logits) < 1e-5);

  // Layers 1 and 2 share their base weights; each has its own adapter.
  const Tensor& w1 = peft->get_parameter("base_model.model.model.layers.1.self_attn.q_proj.base_layer.weight");
  const Tensor& w2 = peft->get_parameter("base_model.model.model.layers.2.self_attn.q_proj.base_layer.weight");
  CHECK(w1.raw_data() == w2.raw_data());
  const Tensor& a1 = peft->get_parameter("base_model.model.model.layers.1.self_attn.q_proj.lora_A.default.weight");
  const Tensor& a2 = peft->get_parameter("base_model.model.model.layers.2.self_attn.q_proj.lora_A.default.weight");
  CHECK(a1.raw_data() != a2.raw_data());

  LoraConfig bad = lc;
  bad.layer_replication = std::vector<std::pair<int, int>>{{0, 5}};
  CHECK_THROWS_WITH_AS(get_peft_model(models::from_pretrained(dir), bad),
                       doctest::Contains("layer_replication range"), ValueError);
}
