// T5 against transformers' golden data (shared/golden/models/<case> with model_type t5, any set
// in that layout): logits, every encoder/decoder hidden state, padded-mask logits, the loss and
// the gradient of every parameter, each within meta.json's tolerances.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "io/golden/golden_case.h"
#include "io/safetensors/tensor_io.h"
#include "models/golden_check.h"
#include "models/model.h"
#include "t5_test_util.h"

namespace peftcpp {
namespace {

using t5_test::t5_golden_cases;

bool starts_with(const std::string& s, const std::string& p) {
  return s.rfind(p, 0) == 0;
}

Tensor get(const TensorMap& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? Tensor() : it->second;
}

models::ModelInputs golden_inputs(const TensorMap& in, const std::string& mask_key) {
  models::ModelInputs x;
  x.input_ids = get(in, "input_ids");
  x.attention_mask = get(in, mask_key);
  x.decoder_input_ids = get(in, "decoder_input_ids");
  x.decoder_attention_mask = get(in, "decoder_attention_mask");
  x.output_hidden_states = true;
  return x;
}

// The hidden state an expected key names, by list prefix and index.
Tensor hidden_state(const models::ModelOutput& out, const std::string& key) {
  for (const auto& [prefix, list] :
       {std::pair{std::string("encoder_hidden_states."), &out.encoder_hidden_states},
        std::pair{std::string("decoder_hidden_states."), &out.decoder_hidden_states}}) {
    if (starts_with(key, prefix)) {
      const std::size_t i = std::stoul(key.substr(prefix.size()));
      return i < list->size() ? (*list)[i] : Tensor();
    }
  }
  return Tensor();
}

TEST_CASE("t5 golden cases: logits, hidden states, padded logits and every gradient match") {
  const auto cases = t5_golden_cases();
  if (cases.empty()) {
    MESSAGE("no golden T5 case found; skipped");
    return;
  }
  for (const auto& dir : cases) {
    CAPTURE(dir.string());
    const Json meta = golden::read_meta(dir);
    const auto tol_out = golden::tolerance(meta, "output", {1e-4, 1e-4});
    const auto tol_hidden = golden::tolerance(meta, "hidden_states", tol_out);
    const auto tol_grad = golden::tolerance(meta, "grad", {1e-4, 1e-3});
    const TensorMap in = load_safetensors((dir / "inputs.safetensors").string());
    const TensorMap want = load_safetensors((dir / "expected.safetensors").string());
    models::ModelPtr model = models::from_pretrained(dir);
    const auto& config = dynamic_cast<const T5Config&>(model->config());

    const models::ModelOutput out = model->forward(golden_inputs(in, "attention_mask"));
    CHECK(out.encoder_hidden_states.size() == static_cast<std::size_t>(config.num_layers + 1));
    CHECK(
        out.decoder_hidden_states.size() == static_cast<std::size_t>(config.decoder_layers() + 1));
    REQUIRE(want.count("logits"));
    CHECK(golden::compare_close("logits", out.logits, want.at("logits"), tol_out) == "");
    int hidden_checked = 0;
    for (const auto& [key, value] : want) {
      if (key.find("hidden_states.") == std::string::npos || starts_with(key, "padded."))
        continue;
      CHECK(golden::compare_close(key, hidden_state(out, key), value, tol_hidden) == "");
      ++hidden_checked;
    }
    CHECK(hidden_checked == config.num_layers + config.decoder_layers() + 2);

    // loss = sum(logits * loss_weight); every parameter's gradient.
    const Tensor loss = sum(out.logits * in.at("loss_weight"));
    loss.backward();
    if (want.count("loss"))
      CHECK(golden::compare_close("loss", loss, want.at("loss"), tol_out) == "");
    std::set<std::string> params;
    for (const auto& [name, p] : model->named_parameters()) {
      params.insert(name);
      CAPTURE(name);
      REQUIRE(want.count("grad." + name));
      REQUIRE(p.grad().defined());
      CHECK(
          golden::compare_close("grad." + name, p.grad(), want.at("grad." + name), tol_grad) == "");
    }
    for (const auto& [key, value] : want)
      if (starts_with(key, "grad."))
        CHECK_MESSAGE(params.count(key.substr(5)), key, " is not a parameter of the model");

    // Padded attention mask (when the set has one).
    if (in.count("padded.attention_mask")) {
      model->zero_grad();
      const models::ModelOutput padded = model->forward(golden_inputs(in, "padded.attention_mask"));
      REQUIRE(want.count("padded.logits"));
      CHECK(
          golden::compare_close(
              "padded.logits", padded.logits, want.at("padded.logits"), tol_out) == "");
    } else {
      MESSAGE("no padded.attention_mask in ", dir.string());
    }
  }
}

TEST_CASE("t5 golden cases pass the models golden checker") {
  for (const auto& dir : t5_golden_cases()) {
    CAPTURE(dir.string());
    const golden::Verdict v = models::check_golden_case(dir);
    CHECK_MESSAGE(v.status == golden::Verdict::Status::Pass, v.message);
  }
}

}  // namespace
}  // namespace peftcpp
