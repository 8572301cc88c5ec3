// Prefix tuning on T5 through the cache, against PEFT's golden prefix-tuning cases for t5 (any
// shared/golden/peft/<case> whose meta.json says PREFIX_TUNING on arch t5, without a prefix
// projection). The prefix keys/values are laid out as PEFT's get_prompt does for seq2seq
// models (num_transformer_submodules = 2): prompt [nvt, layers * 2 * token_dim] viewed as
// [B, nvt, layers * 2, heads, head_dim], concatenated with itself along the layer axis,
// permuted to [layers * 4, B, heads, nvt, head_dim] and split into groups of 4; group l's first
// two entries become decoder layer l's self-attention keys/values and the cross-attention
// cache starts empty. The logits must equal output.adapter and the prompt's gradient grad.*.
#include <doctest/doctest.h>

#include <algorithm>

#include "io/golden/golden_case.h"
#include "io/safetensors/tensor_io.h"
#include "models/model.h"
#include "t5_test_util.h"

namespace peftcpp {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> prefix_cases() {
  std::vector<fs::path> out;
  const fs::path root = t5_test::golden_dir();
  if (root.empty() || !fs::is_directory(root / "peft"))
    return out;
  for (const auto& entry : fs::directory_iterator(root / "peft")) {
    const fs::path meta_file = entry.path() / "meta.json";
    if (!fs::exists(meta_file))
      continue;
    const Json meta = golden::read_meta(entry.path());
    const Json* method = meta.find("method");
    const Json* base = meta.find("base_model");
    const Json* arch = base != nullptr ? base->find("arch") : nullptr;
    const Json* peft = meta.find("peft_config");
    const Json* projection = peft != nullptr ? peft->find("prefix_projection") : nullptr;
    if (method != nullptr && method->is_string() && method->as_string() == "PREFIX_TUNING" &&
        arch != nullptr && arch->is_string() && arch->as_string() == "t5" &&
        (projection == nullptr || !projection->is_bool() || !projection->as_bool()))
      out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE("t5 prefix tuning golden cases: a prefix-filled self cache gives PEFT's logits") {
  const auto cases = prefix_cases();
  if (cases.empty()) {
    MESSAGE("no golden T5 prefix-tuning case found; skipped");
    return;
  }
  for (const auto& dir : cases) {
    CAPTURE(dir.string());
    const Json meta = golden::read_meta(dir);
    const Json& peft = *meta.find("peft_config");
    const std::int64_t nvt = peft.find("num_virtual_tokens")->as_int();
    const std::int64_t layers = peft.find("num_layers")->as_int();
    const std::int64_t heads = peft.find("num_attention_heads")->as_int();
    const std::int64_t token_dim = peft.find("token_dim")->as_int();
    REQUIRE(peft.find("num_transformer_submodules")->as_int() == 2);

    models::ModelPtr model = models::from_pretrained(dir);
    model->requires_grad_(false);
    const TensorMap in = load_safetensors((dir / "inputs.safetensors").string());
    const TensorMap want = load_safetensors((dir / "expected.safetensors").string());
    const TensorMap adapter = load_safetensors((dir / "adapter_model.safetensors").string());
    const std::int64_t batch = in.at("input_ids").size(0);
    Tensor prompt = adapter.at("prompt_embeddings").clone().requires_grad_(true);
    REQUIRE(prompt.shape() == Shape{nvt, layers * 2 * token_dim});

    Tensor kv = prompt.unsqueeze(0)
                    .expand({batch, nvt, layers * 2 * token_dim})
                    .reshape({batch, nvt, layers * 2, heads, token_dim / heads});
    kv = cat({kv, kv}, 2).permute({2, 0, 3, 1, 4});  // [layers * 4, B, heads, nvt, head_dim]
    models::KVCache cache;
    for (std::int64_t l = 0; l < layers; ++l)
      cache.self.push_back({kv.select(0, 4 * l), kv.select(0, 4 * l + 1)});

    models::ModelInputs x;
    x.input_ids = in.at("input_ids");
    x.attention_mask = in.at("attention_mask");
    x.decoder_input_ids = in.at("decoder_input_ids");
    x.past_key_values = &cache;
    const Tensor logits = model->forward(x).logits;
    const auto tol_out = golden::tolerance(meta, "output", {1e-4, 1e-4});
    CHECK(
        golden::compare_close("output.adapter", logits, want.at("output.adapter"), tol_out) == "");
    CHECK(cache.seq_length() == nvt);  // read, not extended

    sum(logits * in.at("loss_weight")).backward();
    for (const auto& [key, value] : want) {
      if (key.rfind("grad.", 0) == 0 && key.find("embedding.weight") != std::string::npos)
        CHECK(
            golden::compare_close(
                key, prompt.grad(), value, golden::tolerance(meta, "grad", {1e-4, 1e-3})) == "");
    }
  }
}

}  // namespace
}  // namespace peftcpp
