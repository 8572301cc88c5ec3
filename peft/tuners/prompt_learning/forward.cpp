// The prompt-learning forwards of PeftModelForCausalLM, ...ForSequenceClassification,
// ...ForTokenClassification, ...ForQuestionAnswering, ...ForFeatureExtraction and
// ...ForSeq2SeqLM (port of their `forward` / `_prefix_tuning_forward` and of
// _adjust_prompt_learning_kwargs in peft/peft_model.py @5d602fd).
//
// Shapes: B batch, T input length, P = num_virtual_tokens.
//   prompt tuning / P-tuning: inputs_embeds = [prompt (B, P, dim), embed(input_ids) (B, T, dim)];
//     attention_mask [B, P + T] (ones in front); token_type_ids [B, P + T] (zeros in front, for
//     sequence / token classification). Seq2seq: the prompt goes in front of the encoder input.
//   prefix tuning: past keys/values of P positions per layer; attention_mask [B, P + T]
//     (seq2seq: decoder_attention_mask gets the ones); position_ids are shifted by P.
// Labels are not part of ModelInputs: for causal LMs with prompt tuning the logits include the
// P virtual positions, so a loss must skip them (prompt_learning_labels in tuner.h).
#include <atomic>
#include <iostream>

#include "peft/tuners/prompt_learning/tuner.h"
#include "tensor/ops.h"

namespace peftcpp::prompt_learning {
namespace {

// PEFT warns through Python's warnings module, which shows a warning once per call site.
void warn_once(std::atomic<bool>& warned, const char* text) {
  if (!warned.exchange(true))
    std::cerr << "[peft] warning: " << text << '\n';
}

// PEFT's _adjust_prompt_learning_kwargs.
void adjust_kwargs(
    models::ModelInputs& in, bool prefix, std::int64_t nv, bool remove_token_type_ids) {
  static std::atomic<bool> warned_positions{false}, warned_token_types{false};
  if (in.position_ids.defined()) {
    if (prefix) {
      in.position_ids = add(in.position_ids, static_cast<double>(nv));
    } else {
      warn_once(
          warned_positions,
          "position ids are not supported for parameter efficient tuning; ignoring them");
      in.position_ids = Tensor();
    }
  }
  if (remove_token_type_ids && in.token_type_ids.defined()) {
    warn_once(
        warned_token_types,
        "token type ids are not supported for parameter efficient tuning; ignoring them");
    in.token_type_ids = Tensor();
  }
}

Tensor ones_in_front(const Tensor& mask, std::int64_t nv) {
  return cat({ones({mask.size(0), nv}, mask.dtype(), mask.device()), mask}, 1);
}

}  // namespace

Tensor prompt_learning_labels(const Tensor& labels, std::int64_t num_virtual_tokens) {
  PEFTCPP_CHECK_SHAPE(
      labels.defined() && labels.dim() == 2,
      "[peft] labels must be [batch, seq], got ",
      labels.defined() ? shape_str(labels.shape()) : std::string("undefined"));
  return cat(
      {full({labels.size(0), num_virtual_tokens}, -100.0, labels.dtype(), labels.device()), labels},
      1);
}

models::ModelOutput PromptLearningTuner::forward(
    const models::ModelInputs& inputs, const std::optional<TaskType>& task) const {
  models::PreTrainedModel& model = pretrained();
  if (!task)
    return model.forward(inputs);  // PEFT's plain PeftModel runs the base model unchanged
  const PromptLearningConfig& cfg = prompt_config(active_adapter());
  const Tensor& lead = inputs.input_ids.defined() ? inputs.input_ids : inputs.inputs_embeds;
  PEFTCPP_CHECK(
      lead.defined() && lead.dim() >= 2,
      "[peft] ",
      peft_type_name(type_),
      " forward needs input_ids [batch, seq] or inputs_embeds [batch, seq, hidden]");
  const std::int64_t b = lead.size(0);
  const std::int64_t nv = *cfg.num_virtual_tokens;
  const bool prefix = uses_past_key_values();
  models::ModelInputs in = inputs;
  models::KVCache cache;
  auto use_prefix = [&] {
    cache = get_prefix_cache(b);
    in.past_key_values = &cache;
    in.use_cache = false;
  };
  // [prompt, embeddings of the input]; `rows` virtual tokens of the prompt (-1 = all).
  auto prompted_embeds = [&](std::int64_t rows) {
    const Tensor embeds =
        in.inputs_embeds.defined() ? in.inputs_embeds : word_embeddings().forward(in.input_ids);
    Tensor prompts = get_prompt(b);
    if (rows >= 0)
      prompts = prompts.narrow(1, 0, rows);
    prompts = prompts.to(embeds.dtype());
    in.input_ids = Tensor();
    return cat({prompts, embeds}, 1);
  };

  if (*task == TaskType::SEQ_2_SEQ_LM) {
    if (prefix && in.decoder_attention_mask.defined())
      in.decoder_attention_mask = ones_in_front(in.decoder_attention_mask, nv);
    adjust_kwargs(in, prefix, nv, true);
    if (prefix) {
      use_prefix();
    } else {
      if (in.attention_mask.defined())
        in.attention_mask = ones_in_front(in.attention_mask, nv);
      in.inputs_embeds = prompted_embeds(nv);  // the encoder gets the first P virtual tokens
    }
    return model.forward(in);
  }

  if (in.attention_mask.defined())
    in.attention_mask = ones_in_front(in.attention_mask, nv);
  if (*task == TaskType::QUESTION_ANS) {
    // PEFT's QA forward takes token_type_ids / position_ids as its own arguments and never
    // passes them on.
    in.token_type_ids = Tensor();
    in.position_ids = Tensor();
  } else {
    const bool classification = *task == TaskType::SEQ_CLS || *task == TaskType::TOKEN_CLS;
    adjust_kwargs(in, prefix, nv, !classification);
  }
  if (prefix) {
    use_prefix();
    return model.forward(in);
  }
  if (in.token_type_ids.defined()) {
    in.token_type_ids =
        cat({zeros({b, nv}, kInt64, in.token_type_ids.device()), in.token_type_ids.to(kInt64)}, 1);
  }
  in.inputs_embeds = prompted_embeds(-1);
  return model.forward(in);
}

}  // namespace peftcpp::prompt_learning
