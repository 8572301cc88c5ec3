// PromptLearningTuner: config preparation, encoders, state-dict hooks and prompts (port of
// _prepare_prompt_learning_config in peft/utils/other.py, _setup_prompt_encoder, get_prompt and
// get_prompt_embedding_to_save in peft/peft_model.py and BasePromptEncoder's hooks in
// peft/tuners/tuners_utils.py @5d602fd). The forwards are in forward.cpp.
#include "peft/tuners/prompt_learning/tuner.h"

#include <algorithm>

#include "autograd/grad_mode.h"
#include "peft/tuners/p_tuning/config.h"
#include "peft/tuners/prefix_tuning/config.h"
#include "peft/utils/auxiliary.h"
#include "peft/utils/trainable_modules.h"
#include "tensor/ops.h"

namespace peftcpp::prompt_learning {
namespace {

// (head_dim, kv_heads) of models with grouped-query attention (transformers configs that have
// num_key_value_heads); nullopt for the others. Llama and Mistral configs always carry head_dim,
// Qwen2's does not (PEFT then uses token_dim / num_attention_heads).
std::optional<std::pair<std::int64_t, std::int64_t>> gqa_shape(
    const HfConfig& mc, const PromptLearningConfig& c) {
  if (const auto* l = dynamic_cast<const LlamaConfig*>(&mc))
    return std::make_pair(l->head_size(), l->kv_heads());
  if (const auto* m = dynamic_cast<const MistralConfig*>(&mc))
    return std::make_pair(m->head_size(), m->kv_heads());
  if (const auto* q = dynamic_cast<const Qwen2Config*>(&mc))
    return std::make_pair(
        static_cast<std::int64_t>(*c.token_dim / *c.num_attention_heads), q->kv_heads());
  return std::nullopt;
}

int to_int(std::int64_t v, const char* what) {
  PEFTCPP_CHECK(
      v > 0 && v <= std::numeric_limits<int>::max(),
      "[peft] model config: ",
      what,
      " = ",
      v,
      " is not a positive int");
  return static_cast<int>(v);
}

}  // namespace

void prepare_prompt_learning_config(PromptLearningConfig& c, const HfConfig& mc) {
  const HfDims d = mc.dims();
  if (!c.num_layers)
    c.num_layers = to_int(d.num_hidden_layers, "num_hidden_layers");
  if (!c.token_dim)
    c.token_dim = to_int(d.hidden_size, "hidden_size");
  if (!c.num_attention_heads)
    c.num_attention_heads = to_int(d.num_attention_heads, "num_attention_heads");
  if (c.peft_type() == PeftType::PREFIX_TUNING || c.peft_type() == PeftType::CARTRIDGE) {
    if (const auto gqa = gqa_shape(mc, c)) {
      c.token_dim = to_int(gqa->first * gqa->second, "head_dim * num_key_value_heads");
      c.num_attention_heads = to_int(gqa->second, "num_key_value_heads");
    }
  }
  if (auto* p = dynamic_cast<PrefixTuningConfig*>(&c); p != nullptr && !p->encoder_hidden_size)
    p->encoder_hidden_size = c.token_dim;
  if (auto* p = dynamic_cast<PromptEncoderConfig*>(&c); p != nullptr && !p->encoder_hidden_size)
    p->encoder_hidden_size = c.token_dim;
}

PromptLearningTuner::PromptLearningTuner(
    nn::ModulePtr model, PeftType type, std::string prefix, EncoderFactory make)
    : BaseTuner(std::move(model)),
      type_(type),
      prefix_(std::move(prefix)),
      make_(std::move(make)),
      prompt_encoder_(std::make_shared<nn::ModuleDict>()) {
  PEFTCPP_CHECK(
      is_prompt_learning(type),
      "[peft] ",
      peft_type_name(type),
      " is not a prompt learning method");
}

models::PreTrainedModel& PromptLearningTuner::pretrained() const {
  auto* pm = dynamic_cast<models::PreTrainedModel*>(model_.get());
  PEFTCPP_CHECK(
      pm != nullptr,
      "[peft] ",
      peft_type_name(type_),
      " needs a transformers model (a models::PreTrainedModel), got a ",
      model_->type_name());
  return *pm;
}

nn::UnaryModule& PromptLearningTuner::word_embeddings() const {
  nn::ModulePtr m = pretrained().input_embeddings();
  auto* u = dynamic_cast<nn::UnaryModule*>(m.get());
  PEFTCPP_CHECK(u != nullptr, "[peft] the model has no token embedding module");
  return *u;
}

PromptLearningConfig& PromptLearningTuner::prompt_config(const std::string& adapter) const {
  auto* c = dynamic_cast<PromptLearningConfig*>(&peft_config(adapter));
  PEFTCPP_CHECK(
      c != nullptr, "[peft] adapter '", adapter, "' does not have a prompt learning config");
  return *c;
}

BasePromptEncoder& PromptLearningTuner::encoder(const std::string& adapter) const {
  auto e = prompt_encoder_->at_as<BasePromptEncoder>(adapter);
  PEFTCPP_CHECK(e != nullptr, "[peft] prompt_encoder.", adapter, " is not a prompt encoder");
  return *e;
}

const std::string& PromptLearningTuner::active_adapter() const {
  PEFTCPP_CHECK(
      active_adapters_.size() == 1,
      "[peft] prompt learning uses exactly one active adapter, ",
      active_adapters_.size(),
      " are active");
  return active_adapters_.front();
}

DType PromptLearningTuner::model_dtype() const {
  for (const Tensor& p : model_->parameters()) {
    if (is_floating_point(p.dtype()))
      return p.dtype();
  }
  return kFloat32;
}

TargetFields PromptLearningTuner::target_fields(PeftConfig& config) const {
  TargetFields f;
  if (auto* c = dynamic_cast<PromptLearningConfig*>(&config))
    f.modules_to_save = &c->modules_to_save;
  return f;
}

void PromptLearningTuner::inject_adapter(const std::string& adapter) {
  PromptLearningConfig& cfg = prompt_config(adapter);
  PEFTCPP_CHECK(
      cfg.peft_type() == type_,
      "[peft] a ",
      peft_type_name(type_),
      " model got a ",
      peft_type_name(cfg.peft_type()),
      " config");
  models::PreTrainedModel& pm = pretrained();
  prepare_prompt_learning_config(cfg, pm.config());
  if (!cfg.num_transformer_submodules)
    cfg.num_transformer_submodules = cfg.task_type == TaskType::SEQ_2_SEQ_LM ? 2 : 1;
  PEFTCPP_CHECK(
      cfg.num_virtual_tokens.has_value(),
      "[peft] num_virtual_tokens must be set in the ",
      cfg.class_name());
  PEFTCPP_CHECK(
      cfg.num_transformer_submodules == 1 || cfg.num_transformer_submodules == 2,
      "[peft] num_transformer_submodules must be 1 or 2, got ",
      *cfg.num_transformer_submodules);
  // The base model is frozen (PEFT freezes the parameters of the base model's children).
  for (const auto& [name, child] : model_->named_children()) {
    if (child)
      child->requires_grad_(false);
  }
  std::shared_ptr<BasePromptEncoder> enc = make_(cfg, word_embeddings());
  const std::int64_t total =
      static_cast<std::int64_t>(*cfg.num_virtual_tokens) * *cfg.num_transformer_submodules;
  prompt_encoder_->insert(adapter, enc);
  prompt_tokens_[adapter] = arange(total);
  try {
    set_additional_trainable_modules(
        *model_, target_fields(cfg), adapter, cfg.inference_mode, true);
  } catch (...) {
    prompt_encoder_->pop(adapter);
    prompt_tokens_.erase(adapter);
    throw;
  }
}

void PromptLearningTuner::create_and_replace(
    PeftConfig& /*config*/,
    const std::string& /*adapter*/,
    const nn::ModulePtr& /*target*/,
    const std::string& current_key,
    const std::optional<std::string>& /*parameter_name*/) {
  throw ValueError(detail::concat(
      "[peft] ", peft_type_name(type_), " replaces no module (asked for '", current_key, "')"));
}

void PromptLearningTuner::delete_adapter(const std::string& adapter) {
  peft_config(adapter);  // throws when unknown
  std::erase_if(configs_, [&](const auto& c) { return c.first == adapter; });
  prompt_encoder_->pop(adapter);
  prompt_tokens_.erase(adapter);
  if (std::find(active_adapters_.begin(), active_adapters_.end(), adapter) !=
      active_adapters_.end()) {
    active_adapters_.clear();
    if (!configs_.empty())
      active_adapters_.push_back(configs_.front().first);
  }
  for (const auto& [key, m] : model_->named_modules()) {
    if (auto* w = dynamic_cast<AuxiliaryTrainingWrapper*>(m.get()))
      w->delete_adapter(adapter, active_adapters_);
  }
}

void PromptLearningTuner::check_merge_allowed() const {
  throw ValueError(detail::concat(
      "[peft] ",
      peft_type_name(type_),
      " is a prompt learning method: there are no adapter weights to merge into the model"));
}

nn::NamedModules PromptLearningTuner::peft_model_children() {
  return {{"base_model", model_}, {"prompt_encoder", prompt_encoder_}};
}

nn::StateDict PromptLearningTuner::adapter_state_dict(
    nn::Module& /*root*/,
    const PeftConfig& config,
    const std::string& adapter,
    const nn::StateDict& /*state*/) const {
  const Tensor p = config.inference_mode ? encoder(adapter).embedding()->weight
                                         : get_prompt_embedding_to_save(adapter);
  return {{"prompt_embeddings", p}};
}

nn::StateDict PromptLearningTuner::remap_adapter_state_dict_for_load(
    nn::Module& /*root*/,
    const PeftConfig& /*config*/,
    const std::string& adapter,
    const nn::StateDict& state) const {
  nn::StateDict out = state;
  auto it = out.find("prompt_embeddings");
  PEFTCPP_CHECK(
      it != out.end(),
      "[peft] the ",
      peft_type_name(type_),
      " checkpoint has no 'prompt_embeddings' tensor");
  const Tensor v = it->second;
  out.erase(it);
  out["prompt_encoder." + adapter + ".embedding.weight"] = v;
  return out;
}

Tensor PromptLearningTuner::get_prompt_embedding_to_save(const std::string& adapter) const {
  const PromptLearningConfig& cfg = prompt_config(adapter);
  Tensor tokens = prompt_tokens_.at(adapter);
  if (uses_past_key_values())
    tokens = tokens.narrow(0, 0, *cfg.num_virtual_tokens);
  NoGradGuard ng;
  return encoder(adapter).forward(tokens.unsqueeze(0)).select(0, 0).detach();
}

Tensor PromptLearningTuner::get_prompt(std::int64_t batch_size) const {
  const std::string& a = active_adapter();
  const PromptLearningConfig& cfg = prompt_config(a);
  BasePromptEncoder& enc = encoder(a);
  Tensor prompts;
  if (cfg.inference_mode) {
    prompts = enc.embedding()->weight.unsqueeze(0);
  } else {
    // One sample through the encoder, expanded over the batch (PEFT issue #2043).
    prompts = enc.forward(prompt_tokens_.at(a).unsqueeze(0));
  }
  return prompts.expand({batch_size, prompts.size(1), prompts.size(2)});
}

models::KVCache PromptLearningTuner::get_prefix_cache(std::int64_t batch_size) const {
  const std::string& a = active_adapter();
  const PromptLearningConfig& cfg = prompt_config(a);
  BasePromptEncoder& enc = encoder(a);
  const std::int64_t nv = *cfg.num_virtual_tokens;
  const std::int64_t layers = *cfg.num_layers;
  const std::int64_t heads = *cfg.num_attention_heads;
  const std::int64_t dim = *cfg.token_dim;
  const std::int64_t submodules = *cfg.num_transformer_submodules;
  PEFTCPP_CHECK(
      dim % heads == 0,
      "[prefix_tuning] token_dim ",
      dim,
      " is not a multiple of num_attention_heads ",
      heads);
  // PEFT encodes the tokens of every sample; the samples are equal, so one is encoded and
  // expanded (same values, and expand's backward sums the batch as the repeated rows would).
  Tensor pkv = cfg.inference_mode ? enc.embedding()->weight.unsqueeze(0)
                                  : enc.forward(prompt_tokens_.at(a).narrow(0, 0, nv).unsqueeze(0));
  PEFTCPP_CHECK_SHAPE(
      pkv.dim() == 3 && pkv.size(0) == 1 && pkv.size(1) == nv && pkv.size(2) == layers * 2 * dim,
      "[prefix_tuning] the encoded prefix must be [1, ",
      nv,
      ", num_layers * 2 * token_dim = ",
      layers * 2 * dim,
      "], got ",
      shape_str(pkv.shape()));
  pkv = pkv.to(model_dtype())
            .expand({batch_size, nv, layers * 2 * dim})
            .reshape({batch_size, nv, layers * 2, heads, dim / heads});
  if (submodules == 2)
    pkv = cat({pkv, pkv}, 2);
  pkv = pkv.permute({2, 0, 3, 1, 4});  // [2 * layers * submodules, B, heads, nv, head_dim]
  models::KVCache cache;
  const std::int64_t group = 2 * submodules;  // (key, value) or (key, value, cross key, value)
  for (std::int64_t g = 0; g + group <= pkv.size(0); g += group)
    cache.self.push_back({pkv.select(0, g), pkv.select(0, g + 1)});
  return cache;
}

}  // namespace peftcpp::prompt_learning
