#include "models/golden_check.h"

#include <string>

#include "autograd/grad_mode.h"
#include "models/registry.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::models {
namespace {

namespace fs = std::filesystem;

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// The input `key` on the checker's device, or undefined.
Tensor get_or_undefined(const TensorMap& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? Tensor() : golden::on_device(it->second);
}

// transformers' forward keywords, from inputs.safetensors; `mask_key` picks the attention mask
// ("attention_mask" or "padded.attention_mask").
ModelInputs make_inputs(const TensorMap& in, const std::string& mask_key) {
  ModelInputs x;
  x.input_ids = get_or_undefined(in, "input_ids");
  x.attention_mask = get_or_undefined(in, mask_key);
  x.token_type_ids = get_or_undefined(in, "token_type_ids");
  x.decoder_input_ids = get_or_undefined(in, "decoder_input_ids");
  x.decoder_attention_mask = get_or_undefined(in, "decoder_attention_mask");
  x.output_hidden_states = true;
  return x;
}

// The tensor of `out` an expected key names ("logits", "hidden_states.2", ...); undefined when
// the output does not have it. `known` is false for keys this checker does not understand.
Tensor output_tensor(const ModelOutput& out, const std::string& key, bool& known) {
  known = true;
  if (key == "logits") return out.logits;
  if (key == "last_hidden_state") return out.last_hidden_state;
  if (key == "pooler_output") return out.pooler_output;
  if (key == "start_logits") return out.start_logits;
  if (key == "end_logits") return out.end_logits;
  if (key == "encoder_last_hidden_state") return out.encoder_last_hidden_state;
  const std::pair<const char*, const std::vector<Tensor>*> lists[] = {
      {"hidden_states.", &out.hidden_states},
      {"encoder_hidden_states.", &out.encoder_hidden_states},
      {"decoder_hidden_states.", &out.decoder_hidden_states}};
  for (const auto& [prefix, list] : lists) {
    if (!starts_with(key, prefix)) continue;
    const std::string idx = key.substr(std::string(prefix).size());
    if (idx.empty() || idx.find_first_not_of("0123456789") != std::string::npos) break;
    const std::size_t i = std::stoul(idx);
    return i < list->size() ? (*list)[i] : Tensor();
  }
  known = false;
  return Tensor();
}

bool is_hidden_state(const std::string& key) {
  return key.find("hidden_states.") != std::string::npos;
}

}  // namespace

golden::Verdict check_golden_case(const fs::path& case_dir) {
  const std::unique_ptr<HfConfig> config = load_hf_config(case_dir / "config.json");
  if (find_model_family(config->model_type()) == nullptr)
    return golden::Verdict::skip(std::string("model_type ") + config->model_type() +
                                 " not implemented");
  const Json meta = golden::read_meta(case_dir);
  const auto tol_out = golden::tolerance(meta, "output", {1e-4, 1e-4});
  const auto tol_hidden = golden::tolerance(meta, "hidden_states", tol_out);
  const auto tol_grad = golden::tolerance(meta, "grad", {1e-4, 1e-3});

  const TensorMap inputs = load_safetensors((case_dir / "inputs.safetensors").string());
  const TensorMap expected = load_safetensors((case_dir / "expected.safetensors").string());
  ModelPtr model = from_pretrained(case_dir);
  model->to(golden::device());
  model->eval();

  // The primary output is what the loss weighs: logits, else the bare model's last hidden state.
  const std::string primary = expected.count("logits") ? "logits" : "last_hidden_state";
  const ModelOutput out = model->forward(make_inputs(inputs, "attention_mask"));
  bool known = true;
  const Tensor primary_out = output_tensor(out, primary, known);
  if (!primary_out.defined()) return golden::Verdict::fail(primary + ": not produced");
  const Tensor loss_weight = get_or_undefined(inputs, "loss_weight");
  Tensor loss;
  if (loss_weight.defined()) {
    loss = sum(primary_out * loss_weight);
    loss.backward();
  }

  ModelOutput padded;
  bool ran_padded = false;
  for (const auto& [key, want] : expected) {
    std::string problem;
    if (key == "loss") {
      problem = golden::compare_close(key, loss, want, tol_out);
    } else if (starts_with(key, "grad.")) {
      const std::string name = key.substr(5);
      Tensor* p = nullptr;
      try {
        p = &model->get_parameter(name);
      } catch (const Error&) {
        return golden::Verdict::fail(key + ": the model has no parameter '" + name + "'");
      }
      const Tensor g = p->grad().defined() ? p->grad() : zeros_like(*p);
      problem = golden::compare_close(key, g, want, tol_grad);
    } else if (starts_with(key, "padded.")) {
      if (!inputs.count("padded.attention_mask"))
        return golden::Verdict::fail(key + ": inputs.safetensors has no padded.attention_mask");
      if (!ran_padded) {
        NoGradGuard no_grad;
        padded = model->forward(make_inputs(inputs, "padded.attention_mask"));
        ran_padded = true;
      }
      const Tensor got = output_tensor(padded, key.substr(7), known);
      if (!known) return golden::Verdict::fail(key + ": expected key not understood by the checker");
      problem = golden::compare_close(key, got, want, tol_out);
    } else {
      const Tensor got = output_tensor(out, key, known);
      if (!known) return golden::Verdict::fail(key + ": expected key not understood by the checker");
      problem = golden::compare_close(key, got, want, is_hidden_state(key) ? tol_hidden : tol_out);
    }
    if (!problem.empty()) return golden::Verdict::fail(problem);
  }
  return golden::Verdict::pass();
}

}  // namespace peftcpp::models
