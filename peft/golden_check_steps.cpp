// Steps of a golden `peft` case (see golden_check_steps.h).
#include "peft/golden_check_steps.h"

#include <set>

#include "autograd/grad_mode.h"
#include "models/model.h"
#include "peft/golden/custom_models.h"
#include "peft/mapping.h"
#include "tensor/ops.h"

namespace peftcpp::peft {
namespace {

const char* const kOutput = "output";
const char* const kGrad = "grad";
const char* const kMerged = "merged";
const char* const kSgd = "sgd";

}  // namespace

GoldenCase::GoldenCase(std::filesystem::path dir, Json meta)
    : dir_(std::move(dir)), meta_(std::move(meta)) {
  const Json* kind = meta_.at("base_model").find("kind");
  transformers_ = kind != nullptr && kind->is_string() && kind->as_string() == "transformers";
  for (auto& [k, v] : load_safetensors((dir_ / "inputs.safetensors").string()))
    inputs_.emplace(k, golden::on_device(v));
  expected_ = load_safetensors((dir_ / "expected.safetensors").string());
  prompt_learning_ = load_peft_config(dir_)->is_prompt_learning();
}

nn::ModulePtr GoldenCase::build_base() const {
  nn::ModulePtr model;
  if (transformers_) {
    model = models::from_pretrained(dir_);
  } else {
    model = std::make_shared<CustomModel>(meta_.at("base_model"));
    nn::StateDict state;
    for (auto& [k, v] : load_safetensors((dir_ / "model.safetensors").string()))
      state.emplace(k, v);
    model->load_state_dict(state, true);
  }
  model->to(golden::device());
  model->eval();
  return model;
}

Tensor GoldenCase::run(nn::Module& model) const {
  auto get = [&](const char* k) {
    auto it = inputs_.find(k);
    return it == inputs_.end() ? Tensor() : it->second;
  };
  if (!transformers_) {
    if (auto* p = dynamic_cast<PeftModel*>(&model))
      return p->forward(get("X"));
    return dynamic_cast<nn::UnaryModule&>(model).forward(get("X"));
  }
  models::ModelInputs in;
  in.input_ids = get("input_ids");
  in.attention_mask = get("attention_mask");
  in.token_type_ids = get("token_type_ids");
  in.decoder_input_ids = get("decoder_input_ids");
  models::ModelOutput out;
  if (auto* p = dynamic_cast<PeftModel*>(&model)) {
    out = p->forward(in);
  } else {
    out = dynamic_cast<models::PreTrainedModel&>(model).forward(in);
  }
  return out.logits.defined() ? out.logits : out.last_hidden_state;
}

std::shared_ptr<PeftModel> GoldenCase::load(bool trainable) const {
  if (trainable && prompt_learning_)
    return rebuild_prompt_learning();
  std::shared_ptr<PeftModel> m =
      PeftModel::from_pretrained(build_base(), dir_, "default", trainable);
  m->to(golden::device());  // adapter weights are loaded on the CPU
  m->eval();
  return m;
}

std::shared_ptr<PeftModel> GoldenCase::rebuild_prompt_learning() const {
  Json j = load_peft_config(dir_)->to_json();
  j.as_object().set("inference_mode", Json(false));
  // Every parameter is overwritten below: a data-dependent init (prompt tuning's TEXT /
  // SAMPLE_VOCAB, which may name a tokenizer on the hub) is not needed.
  if (const Json* init = j.find("prompt_tuning_init"); init != nullptr && init->is_string()) {
    j.as_object().set("prompt_tuning_init", Json("RANDOM"));
    j.as_object().set("tokenizer_kwargs", Json());
  }
  std::shared_ptr<PeftModel> m = get_peft_model(build_base(), peft_config_from_json(j));
  m->to(golden::device());
  NoGradGuard g;
  for (auto& [n, p] : m->named_parameters()) {
    auto it = expected_.find("param." + n);
    if (it == expected_.end())
      continue;
    PEFTCPP_CHECK_SHAPE(
        p.shape() == it->second.shape(),
        "[golden] param.",
        n,
        " is ",
        shape_str(it->second.shape()),
        ", the rebuilt adapter's parameter ",
        shape_str(p.shape()));
    Tensor dst = p;
    dst.copy_(it->second.to(p.dtype()).to(p.device()));
  }
  m->eval();
  return m;
}

std::string GoldenCase::compare(
    const std::string& key, const Tensor& actual, const char* tol) const {
  auto it = expected_.find(key);
  if (it == expected_.end())
    return key + ": not in expected.safetensors";
  return golden::compare_close(key, actual, it->second, golden::tolerance(meta_, tol));
}

std::string GoldenCase::check_base_and_adapter() {
  {
    NoGradGuard g;
    nn::ModulePtr base = build_base();
    if (std::string p = compare("output.base", run(*base), kOutput); !p.empty())
      return p;
  }
  std::shared_ptr<PeftModel> model = load(true);
  std::set<std::string> want, have;
  for (const auto& [k, v] : expected_) {
    if (k.starts_with("grad."))
      want.insert(k.substr(5));
  }
  std::map<std::string, Tensor> params;
  for (const auto& [n, p] : model->named_parameters()) {
    params[n] = p;
    if (p.requires_grad())
      have.insert(n);
  }
  if (want != have) {
    std::string extra, missing;
    for (const std::string& n : have) {
      if (!want.count(n))
        extra += " " + n;
    }
    for (const std::string& n : want) {
      if (!have.count(n))
        missing += " " + n;
    }
    return "trainable parameters differ: not expected:" + extra + "; missing:" + missing;
  }
  for (const auto& [k, v] : expected_) {
    if (!k.starts_with("param."))
      continue;
    auto it = params.find(k.substr(6));
    if (it == params.end())
      return k + ": no such parameter in the PeftModel";
    if (std::string p = compare(k, it->second, kOutput); !p.empty())
      return p;
  }
  const Tensor out = run(*model);
  if (std::string p = compare("output.adapter", out, kOutput); !p.empty())
    return p;
  const Tensor loss = sum(out * inputs_.at("loss_weight"));
  if (has("loss")) {
    if (std::string p = compare("loss", loss, kOutput); !p.empty())
      return p;
  }
  model->zero_grad();
  loss.backward();
  for (const auto& [k, v] : expected_) {
    if (!k.starts_with("grad."))
      continue;
    const Tensor& p = params.at(k.substr(5));
    const Tensor g = p.grad().defined() ? p.grad() : zeros_like(p);
    if (std::string pr = compare(k, g, kGrad); !pr.empty())
      return pr;
  }
  NoGradGuard g;
  auto scope = model->disable_adapter();
  const Tensor disabled = run(*model);
  if (has("output.adapter_disabled"))
    return compare("output.adapter_disabled", disabled, kOutput);
  const Json* modified = meta_.find("base_weights_modified_by_init");
  if (modified == nullptr || !modified->is_bool() || !modified->as_bool()) {
    if (std::string p = compare("output.base", disabled, kOutput); !p.empty()) {
      return "with the adapter disabled: " + p;
    }
  }
  return "";
}

std::string GoldenCase::check_merge() {
  if (!has("output.merged"))
    return "";
  NoGradGuard g;
  std::shared_ptr<PeftModel> model = load(false);
  nn::ModulePtr merged = model->merge_and_unload();
  if (std::string p = compare("output.merged", run(*merged), kMerged); !p.empty())
    return p;
  const nn::StateDict state = merged->state_dict();
  for (const auto& [k, v] : expected_) {
    if (!k.starts_with("merged."))
      continue;
    auto it = state.find(k.substr(7));
    if (it == state.end())
      return k + ": the merged model has no tensor '" + k.substr(7) + "'";
    if (std::string p = compare(k, it->second, kMerged); !p.empty())
      return p;
  }
  return "";
}

std::string GoldenCase::check_sgd() {
  if (!has("sgd.loss"))
    return "";
  std::shared_ptr<PeftModel> model = load(true);
  std::vector<std::pair<std::string, Tensor>> trainable;
  for (const auto& [n, p] : model->named_parameters()) {
    if (p.requires_grad())
      trainable.emplace_back(n, p);
  }
  std::vector<double> losses;
  for (int step = 0; step < 3; ++step) {
    model->zero_grad();
    const Tensor loss = sum(run(*model) * inputs_.at("loss_weight"));
    losses.push_back(loss.item<float>());
    loss.backward();
    NoGradGuard g;
    for (auto& [n, p] : trainable) {
      if (p.grad().defined())
        p.add_(p.grad(), -0.1);
    }
  }
  const Tensor got = tensor_from_doubles(losses, {3}, kFloat32);
  if (std::string p = compare("sgd.loss", got, kSgd); !p.empty())
    return p;
  for (const auto& [n, p] : trainable) {
    const std::string key = "sgd.step3." + n;
    if (!has(key))
      continue;
    if (std::string pr = compare(key, p, kSgd); !pr.empty())
      return pr;
  }
  if (has("sgd.output_after")) {
    NoGradGuard g;
    return compare("sgd.output_after", run(*model), kSgd);
  }
  return "";
}

}  // namespace peftcpp::peft

namespace peftcpp::peft {

std::string GoldenCase::check_prompt_reload() {
  if (!prompt_learning_)
    return "";
  {
    std::shared_ptr<PeftModel> trained = load(true);
    const nn::StateDict saved = get_peft_model_state_dict(*trained);
    const TensorMap file = load_safetensors((dir_ / kAdapterWeightsName).string());
    for (const auto& [k, v] : file) {
      auto it = saved.find(k);
      if (it == saved.end())
        return std::string("the saved adapter has no '") + k + "'";
      const std::string p = golden::compare_close(
          std::string("saved ") + k, it->second, v, golden::tolerance(meta_, kOutput));
      if (!p.empty())
        return p;
    }
    if (saved.size() != file.size())
      return "the saved adapter has tensors the adapter file lacks";
  }
  const Json* reload = meta_.find("reload_reproduces_output");
  if (reload != nullptr && reload->is_bool() && !reload->as_bool())
    return "";
  NoGradGuard g;
  std::shared_ptr<PeftModel> reloaded = load(false);
  if (std::string p = compare("output.adapter", run(*reloaded), kOutput); !p.empty()) {
    return "reloaded from the adapter file: " + p;
  }
  return "";
}

}  // namespace peftcpp::peft
