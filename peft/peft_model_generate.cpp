// PeftModel::generate (port of PeftModelForCausalLM.generate / prepare_inputs_for_generation and
// PeftModelForSeq2SeqLM.generate in peft/peft_model.py @5d602fd): adapter layers act inside the
// base model; prompt learning hands its virtual tokens to models::generate.
#include "autograd/grad_mode.h"
#include "peft/peft_model.h"
#include "peft/tuners/prompt_learning/tuner.h"
#include "tensor/error.h"

namespace peftcpp {

models::GenerateOutput PeftModel::generate(
    const Tensor& input_ids, const Tensor& attention_mask, const models::GenerationConfig& config) {
  auto* pm = dynamic_cast<models::PreTrainedModel*>(get_base_model().get());
  PEFTCPP_CHECK(
      pm != nullptr,
      "[peft] generate needs a transformers base model, this one is a ",
      get_base_model()->type_name());
  auto* pl = dynamic_cast<prompt_learning::PromptLearningTuner*>(tuner_.get());
  if (pl == nullptr || adapters_disabled_)
    return models::generate(*pm, input_ids, attention_mask, config);
  PEFTCPP_CHECK_SHAPE(
      input_ids.defined() && input_ids.dim() == 2,
      "[peft] generate: input_ids "
      "must be [batch, seq], got ",
      input_ids.defined() ? shape_str(input_ids.shape()) : std::string("undefined"));
  NoGradGuard no_grad;
  const std::int64_t b = input_ids.size(0);
  models::VirtualTokens virtual_tokens;
  models::KVCache prefix;
  if (pl->uses_past_key_values()) {
    prefix = pl->get_prefix_cache(b);
    virtual_tokens.prefix = &prefix;
  } else {
    Tensor prompts = pl->get_prompt(b);
    if (pm->is_encoder_decoder()) {
      prompts = prompts.narrow(1, 0, *pl->prompt_config(pl->active_adapter()).num_virtual_tokens);
    }
    virtual_tokens.embeds = prompts;
  }
  return models::generate(*pm, input_ids, attention_mask, config, virtual_tokens);
}

}  // namespace peftcpp
