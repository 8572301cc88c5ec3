// models/model.cpp: from_pretrained's checkpoint key matching (prefixes, dropped buffers, tied
// weights), its errors, and save_pretrained's output.
#include <doctest/doctest.h>

#include "models/model.h"
#include "models/model_test_util.h"

using namespace peftcpp;
using namespace peftcpp::model_test;

namespace {

// Copies a golden model dir, rewriting model.safetensors through `edit`.
fs::path copy_with(const fs::path& src, const fs::path& dst,
                   const std::function<TensorMap(TensorMap)>& edit) {
  fs::create_directories(dst);
  fs::copy_file(src / "config.json", dst / "config.json");
  save_safetensors((dst / "model.safetensors").string(),
                   edit(load_safetensors((src / "model.safetensors").string())));
  return dst;
}

fs::path golden_model(const std::string& name) {
  const fs::path g = golden_dir();
  return g.empty() ? fs::path() : g / "models" / name;
}

Tensor logits_of(models::PreTrainedModel& m, const fs::path& case_dir) {
  const TensorMap in = load_safetensors((case_dir / "inputs.safetensors").string());
  models::ModelInputs x;
  x.input_ids = in.at("input_ids");
  return m.forward(x).logits;
}

}  // namespace

TEST_CASE("a bare-model checkpoint loads into the task model (transformer. prefix added)") {
  const fs::path src = golden_model("gpt2_lm_head");
  if (src.empty() || !fs::exists(src)) return;
  ScratchDir tmp("fp");
  const fs::path dir = copy_with(src, tmp.path() / "hub", [](TensorMap m) {
    TensorMap out;
    for (auto& [k, v] : m) out[k.rfind("transformer.", 0) == 0 ? k.substr(12) : k] = v;
    out["h.0.attn.bias"] = zeros({1, 1, 4, 4});  // an old GPT-2 buffer, dropped
    return out;
  });
  models::ModelPtr a = models::from_pretrained(src), b = models::from_pretrained(dir);
  CHECK(max_abs_diff(logits_of(*a, src), logits_of(*b, src)) == 0.0);
}

TEST_CASE("a task checkpoint loads into the bare model (bert. prefix removed), buffers dropped") {
  const fs::path src = golden_model("bert_model");
  if (src.empty() || !fs::exists(src)) return;
  ScratchDir tmp("fp");
  const fs::path dir = copy_with(src, tmp.path() / "prefixed", [](TensorMap m) {
    TensorMap out;
    for (auto& [k, v] : m) out["bert." + k] = v;
    out["bert.embeddings.position_ids"] = arange(0, 8, 1, kInt64).unsqueeze(0);
    return out;
  });
  models::ModelPtr a = models::from_pretrained(src), b = models::from_pretrained(dir);
  const auto sa = a->state_dict(), sb = b->state_dict();
  REQUIRE(sa.size() == sb.size());
  for (const auto& [k, v] : sa) CHECK(max_abs_diff(v, sb.at(k)) == 0.0);
}

TEST_CASE("a mis-shaped or missing tensor is an error naming the directory and the tensor") {
  const fs::path src = golden_model("gpt2_lm_head");
  if (src.empty() || !fs::exists(src)) return;
  ScratchDir tmp("fp");
  const fs::path bad = copy_with(src, tmp.path() / "bad", [](TensorMap m) {
    m["transformer.wpe.weight"] = zeros({3, 3});
    m.erase("transformer.ln_f.weight");
    return m;
  });
  try {
    models::from_pretrained(bad);
    FAIL("expected an error");
  } catch (const ValueError& e) {
    const std::string what = e.what();
    CHECK(what.find("bad") != std::string::npos);
    CHECK(what.find("transformer.wpe.weight") != std::string::npos);
    CHECK(what.find("transformer.ln_f.weight") != std::string::npos);
  }
  CHECK_THROWS_AS(models::from_pretrained(tmp.path() / "nothing"), IoError);
}

TEST_CASE("save_pretrained writes the class into architectures and tied weights once") {
  const fs::path src = golden_model("gpt2_lm_head");
  if (src.empty() || !fs::exists(src)) return;
  ScratchDir tmp("fp");
  models::ModelPtr m = models::from_pretrained(src);
  m->save_pretrained(tmp.path());
  const Json cfg = Json::parse_file(tmp.path() / "config.json");
  CHECK(cfg.at("architectures")[0].as_string() == m->type_name());
  const TensorMap saved = load_safetensors((tmp.path() / "model.safetensors").string());
  CHECK(saved.count("lm_head.weight") == 0);
  CHECK(saved.count("transformer.wte.weight") == 1);
}
