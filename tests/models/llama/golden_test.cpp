// The golden cases of the LLaMA family (every models/<case> whose model_type is llama, mistral
// or qwen2, whatever its shapes): logits, every hidden state, padded logits, the loss and the
// gradient of every parameter against transformers, within meta.json's tolerances.
#include <doctest/doctest.h>

#include <filesystem>
#include <set>

#include "io/golden/golden_case.h"
#include "models/golden_check.h"
#include "tests/models/llama/llama_test_util.h"

namespace fs = std::filesystem;
using namespace peftcpp;

namespace {

std::vector<fs::path> llama_family_cases() {
  std::vector<fs::path> out;
  const fs::path root = test::golden_dir() / "models";
  if (test::golden_dir().empty() || !fs::is_directory(root))
    return out;
  const std::set<std::string> types = {"llama", "mistral", "qwen2"};
  for (const auto& c : fs::directory_iterator(root)) {
    if (!fs::is_regular_file(c.path() / "config.json"))
      continue;
    if (types.count(load_hf_config(c.path() / "config.json")->model_type()))
      out.push_back(c.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Tensor get(const TensorMap& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? Tensor() : it->second;
}

models::ModelInputs inputs_with(const TensorMap& in, const std::string& mask_key) {
  models::ModelInputs x;
  x.input_ids = get(in, "input_ids");
  x.attention_mask = get(in, mask_key);
  x.output_hidden_states = true;
  return x;
}

}  // namespace

TEST_CASE("llama family golden cases: logits, hidden states, padded logits and every gradient") {
  const std::vector<fs::path> cases = llama_family_cases();
  if (cases.empty()) {
    MESSAGE("no llama/mistral/qwen2 golden cases found; skipped");
    return;
  }
  for (const fs::path& dir : cases) {
    INFO("case ", dir.string());
    const Json meta = golden::read_meta(dir);
    const auto tol_out = golden::tolerance(meta, "output", {1e-4, 1e-4});
    const auto tol_hidden = golden::tolerance(meta, "hidden_states", tol_out);
    const auto tol_grad = golden::tolerance(meta, "grad", {1e-4, 1e-3});
    const TensorMap in = load_safetensors((dir / "inputs.safetensors").string());
    const TensorMap want = load_safetensors((dir / "expected.safetensors").string());

    models::ModelPtr model = models::from_pretrained(dir);
    const models::ModelOutput out = model->forward(inputs_with(in, "attention_mask"));
    REQUIRE(
        out.hidden_states.size() ==
        static_cast<std::size_t>(model->config().dims().num_hidden_layers + 1));
    const Tensor loss = sum(out.logits * get(in, "loss_weight"));
    loss.backward();
    models::ModelOutput padded;
    {
      NoGradGuard ng;
      padded = model->forward(inputs_with(in, "padded.attention_mask"));
    }
    std::size_t compared = 0, grads = 0;
    for (const auto& [key, expected] : want) {
      std::string problem;
      if (key == "logits") {
        problem = golden::compare_close(key, out.logits, expected, tol_out);
      } else if (key == "loss") {
        problem = golden::compare_close(key, loss, expected, tol_out);
      } else if (key == "padded.logits") {
        problem = golden::compare_close(key, padded.logits, expected, tol_out);
      } else if (key.rfind("hidden_states.", 0) == 0) {
        const std::size_t i = std::stoul(key.substr(14));
        REQUIRE(i < out.hidden_states.size());
        problem = golden::compare_close(key, out.hidden_states[i], expected, tol_hidden);
      } else if (key.rfind("grad.", 0) == 0) {
        const Tensor& p = model->get_parameter(key.substr(5));
        const Tensor g = p.grad().defined() ? p.grad() : zeros_like(p);
        problem = golden::compare_close(key, g, expected, tol_grad);
        ++grads;
      } else {
        FAIL_CHECK("expected key not understood: ", key);
        continue;
      }
      CHECK_MESSAGE(problem.empty(), problem);
      ++compared;
    }
    // Every parameter of the model has a reference gradient (none is left unchecked).
    CHECK(grads == model->named_parameters().size());
    CHECK(compared == want.size());
    // The library's golden checker agrees.
    const golden::Verdict v = models::check_golden_case(dir);
    CHECK_MESSAGE(v.status == golden::Verdict::Status::Pass, v.message);
  }
}

TEST_CASE("bfloat16 weights give logits close to float32 on the golden cases") {
  for (const fs::path& dir : llama_family_cases()) {
    INFO("case ", dir.string());
    const TensorMap in = load_safetensors((dir / "inputs.safetensors").string());
    const TensorMap want = load_safetensors((dir / "expected.safetensors").string());
    models::LoadOptions opts;
    opts.dtype = kBFloat16;
    models::ModelPtr model = models::from_pretrained(dir, opts);
    NoGradGuard ng;
    const models::ModelOutput out = model->forward(inputs_with(in, "attention_mask"));
    CHECK(out.logits.dtype() == kBFloat16);
    const Tensor ref = get(want, "logits");
    const double scale = amax(abs(ref)).item<double>();
    CHECK(max_abs_diff(out.logits.to(kFloat32), ref) <= 0.05 * scale + 0.02);
  }
}
