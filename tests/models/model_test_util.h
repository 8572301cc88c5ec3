// Helpers shared by the GPT-2 and BERT model tests: the golden directory, its case folders of
// one model family, tensor comparison within meta.json tolerances, and a scratch directory.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "autograd/grad_mode.h"
#include "io/golden/golden_case.h"
#include "io/json/hf_config.h"
#include "io/safetensors/tensor_io.h"
#include "models/model.h"
#include "tensor/ops.h"

namespace peftcpp::model_test {

namespace fs = std::filesystem;

/// $PEFTCPP_GOLDEN_DIR, else <source root>/../shared/golden; empty when neither exists.
inline fs::path golden_dir() {
  if (const char* env = std::getenv("PEFTCPP_GOLDEN_DIR"); env != nullptr && *env)
    return fs::is_directory(env) ? fs::path(env) : fs::path();
#ifdef PEFTCPP_SOURCE_ROOT
  const fs::path p = fs::path(PEFTCPP_SOURCE_ROOT) / ".." / "shared" / "golden";
  if (fs::is_directory(p))
    return fs::canonical(p);
#endif
  return {};
}

/// Case folders of golden/<group> whose config.json has `model_type`, sorted by name.
inline std::vector<fs::path> cases_of(const std::string& group, const std::string& model_type) {
  std::vector<fs::path> out;
  const fs::path root = golden_dir() / group;
  if (golden_dir().empty() || !fs::is_directory(root))
    return out;
  for (const auto& entry : fs::directory_iterator(root)) {
    const fs::path cfg = entry.path() / "config.json";
    if (!fs::is_regular_file(cfg))
      continue;
    if (load_hf_config(cfg)->model_type() == model_type)
      out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Checks `actual` against `expected` within (atol, rtol); the message names `what`.
inline void check_close(
    const std::string& what,
    const Tensor& actual,
    const Tensor& expected,
    std::pair<double, double> tol) {
  const std::string problem = golden::compare_close(what, actual, expected, tol);
  INFO(problem);
  CHECK(problem.empty());
}

/// `map[key]`, failing the test when absent.
inline Tensor at(const TensorMap& map, const std::string& key) {
  auto it = map.find(key);
  REQUIRE_MESSAGE(it != map.end(), "missing tensor '" << key << "'");
  return it->second;
}

inline Tensor get_or_undefined(const TensorMap& map, const std::string& key) {
  auto it = map.find(key);
  return it == map.end() ? Tensor() : it->second;
}

/// A fresh directory under the system temp dir, removed on destruction.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag) {
    path_ = fs::temp_directory_path() / ("peftcpp_" + tag + "_" + std::to_string(::getpid()) + "_" +
                                         std::to_string(counter()++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const {
    return path_;
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  fs::path path_;
};

/// The golden `models` checks for one case: the primary output (logits, else last_hidden_state),
/// pooler_output, every hidden state, the padded outputs, loss = sum(primary * loss_weight) and
/// the gradient of EVERY parameter of the model (a parameter missing from expected.safetensors
/// must have no or a zero gradient), each within meta.json's tolerances.
inline void check_models_case(const fs::path& dir) {
  const Json meta = golden::read_meta(dir);
  const auto tol_out = golden::tolerance(meta, "output", {1e-4, 1e-4});
  const auto tol_hidden = golden::tolerance(meta, "hidden_states", tol_out);
  const auto tol_grad = golden::tolerance(meta, "grad", {1e-4, 1e-3});
  const TensorMap in = load_safetensors((dir / "inputs.safetensors").string());
  const TensorMap want = load_safetensors((dir / "expected.safetensors").string());
  models::ModelPtr model = models::from_pretrained(dir);

  models::ModelInputs x;
  x.input_ids = at(in, "input_ids");
  x.attention_mask = get_or_undefined(in, "attention_mask");
  x.token_type_ids = get_or_undefined(in, "token_type_ids");
  x.output_hidden_states = true;
  const models::ModelOutput out = model->forward(x);
  const bool has_logits = want.count("logits") != 0;
  const Tensor primary = has_logits ? out.logits : out.last_hidden_state;
  REQUIRE(primary.defined());
  check_close(
      has_logits ? "logits" : "last_hidden_state",
      primary,
      at(want, has_logits ? "logits" : "last_hidden_state"),
      tol_out);
  if (want.count("pooler_output"))
    check_close("pooler_output", out.pooler_output, at(want, "pooler_output"), tol_out);
  std::size_t n_hidden = 0;
  while (want.count("hidden_states." + std::to_string(n_hidden))) ++n_hidden;
  CHECK(out.hidden_states.size() == n_hidden);
  for (std::size_t i = 0; i < n_hidden && i < out.hidden_states.size(); ++i) {
    const std::string key = "hidden_states." + std::to_string(i);
    check_close(key, out.hidden_states[i], at(want, key), tol_hidden);
  }

  const Tensor loss = sum(mul(primary, at(in, "loss_weight")));
  check_close("loss", loss, at(want, "loss"), tol_out);
  loss.backward();
  for (const auto& [name, p] : model->named_parameters()) {
    const auto it = want.find("grad." + name);
    if (it == want.end()) {
      // transformers reports no gradient for it (e.g. BertModel's pooler under a
      // last_hidden_state loss).
      INFO("parameter without expected gradient: " << name);
      CHECK((!p.grad().defined() || max_abs_diff(p.grad(), zeros_like(p)) == 0.0));
      continue;
    }
    const Tensor g = p.grad().defined() ? p.grad() : zeros_like(p);
    check_close("grad." + name, g, it->second, tol_grad);
  }
  for (const auto& [key, value] : want) {
    (void)value;
    if (key.rfind("grad.", 0) == 0) {
      INFO("expected gradient of a parameter the model lacks: " << key);
      CHECK_NOTHROW(model->get_parameter(key.substr(5)));
    }
  }

  if (in.count("padded.attention_mask")) {
    x.attention_mask = at(in, "padded.attention_mask");
    const models::ModelOutput padded = model->forward(x);
    const std::string key = has_logits ? "padded.logits" : "padded.last_hidden_state";
    check_close(key, has_logits ? padded.logits : padded.last_hidden_state, at(want, key), tol_out);
  }
}

/// A PEFT case's base model alone: the task output equals expected output.base.
inline void check_peft_base_output(const fs::path& dir) {
  const auto tol_out = golden::tolerance(golden::read_meta(dir), "output", {1e-4, 1e-4});
  const TensorMap in = load_safetensors((dir / "inputs.safetensors").string());
  const TensorMap want = load_safetensors((dir / "expected.safetensors").string());
  if (!want.count("output.base") || !in.count("input_ids"))
    return;
  models::ModelPtr model = models::from_pretrained(dir);
  models::ModelInputs x;
  x.input_ids = at(in, "input_ids");
  x.attention_mask = get_or_undefined(in, "attention_mask");
  x.token_type_ids = get_or_undefined(in, "token_type_ids");
  NoGradGuard no_grad;
  const models::ModelOutput out = model->forward(x);
  check_close(
      "output.base",
      out.logits.defined() ? out.logits : out.last_hidden_state,
      at(want, "output.base"),
      tol_out);
}

/// PEFT's prompt tuning and prefix tuning (no projection) redone by hand on the base model:
/// prompt tuning prepends the virtual token embeddings as inputs_embeds (token_type_ids get
/// zeros in front); prefix tuning turns them into every layer's past keys/values
/// ([2 * layers, B, H, nvt, D] split in (key, value) pairs). Both extend the attention mask with
/// ones. Checks output.adapter, the loss and the gradients of the prompt embeddings and of the
/// modules_to_save copies. Returns false when the case is not one of these.
inline bool check_prompt_learning_case(const fs::path& dir) {
  const Json meta = golden::read_meta(dir);
  const Json& pc = meta.at("peft_config");
  const std::string type = pc.at("peft_type").as_string();
  const bool prefix = type == "PREFIX_TUNING";
  if (!prefix && type != "PROMPT_TUNING")
    return false;
  if (prefix && ((pc.find("prefix_projection") && pc.at("prefix_projection").as_bool()) ||
                 pc.at("num_transformer_submodules").as_int() != 1))
    return false;
  const auto tol_out = golden::tolerance(meta, "output", {1e-4, 1e-4});
  const auto tol_grad = golden::tolerance(meta, "grad", {1e-4, 1e-3});
  const TensorMap in = load_safetensors((dir / "inputs.safetensors").string());
  const TensorMap want = load_safetensors((dir / "expected.safetensors").string());
  models::ModelPtr model = models::from_pretrained(dir);

  // modules_to_save copies replace the base module's parameters.
  std::vector<std::pair<std::string, std::string>> saved;  // (model param, expected key suffix)
  const std::string marker = ".modules_to_save.default.";
  for (const auto& [key, value] : want) {
    if (key.rfind("param.base_model.", 0) != 0 || key.find(marker) == std::string::npos)
      continue;
    const std::string rest = key.substr(std::string("param.base_model.").size());
    const std::size_t m = rest.find(marker);
    const std::string name = rest.substr(0, m) + "." + rest.substr(m + marker.size());
    NoGradGuard no_grad;
    model->get_parameter(name).copy_(value);
    saved.emplace_back(name, key.substr(6));
  }

  Tensor prompt = at(want, "param.prompt_encoder.default.embedding.weight").clone();
  prompt.requires_grad_(true);
  const Tensor ids = at(in, "input_ids");
  const std::int64_t b = ids.size(0), nvt = prompt.size(0);
  const Tensor mask = at(in, "attention_mask");
  models::ModelInputs x;
  x.attention_mask = cat({ones({b, nvt}, mask.dtype()), mask}, 1);
  models::KVCache cache;
  if (prefix) {
    const std::int64_t layers = pc.at("num_layers").as_int();
    const std::int64_t heads = pc.at("num_attention_heads").as_int();
    const std::int64_t dim = pc.at("token_dim").as_int();
    const Tensor kv = prompt.unsqueeze(0)
                          .expand({b, nvt, prompt.size(1)})
                          .reshape({b, nvt, 2 * layers, heads, dim / heads})
                          .permute({2, 0, 3, 1, 4});
    for (std::int64_t i = 0; i < layers; ++i)
      cache.self.push_back({kv.select(0, 2 * i), kv.select(0, 2 * i + 1)});
    x.input_ids = ids;
    x.token_type_ids = get_or_undefined(in, "token_type_ids");
    x.past_key_values = &cache;
  } else {
    auto embed = std::dynamic_pointer_cast<nn::UnaryModule>(model->input_embeddings());
    REQUIRE(embed);
    x.inputs_embeds =
        cat({prompt.unsqueeze(0).expand({b, nvt, prompt.size(1)}), embed->forward(ids)}, 1);
    if (const Tensor tt = get_or_undefined(in, "token_type_ids"); tt.defined())
      x.token_type_ids = cat({zeros({b, nvt}, tt.dtype()), tt}, 1);
  }
  const models::ModelOutput out = model->forward(x);
  check_close("output.adapter", out.logits, at(want, "output.adapter"), tol_out);
  const Tensor loss = sum(mul(out.logits, at(in, "loss_weight")));
  check_close("loss", loss, at(want, "loss"), tol_out);
  loss.backward();
  check_close(
      "grad.prompt_encoder.default.embedding.weight",
      prompt.grad(),
      at(want, "grad.prompt_encoder.default.embedding.weight"),
      tol_grad);
  for (const auto& [name, suffix] : saved)
    check_close(
        "grad." + suffix, model->get_parameter(name).grad(), at(want, "grad." + suffix), tol_grad);
  return true;
}

}  // namespace peftcpp::model_test
