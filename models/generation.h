// Text generation for PreTrainedModel (transformers' GenerationMixin.generate, greedy search and
// multinomial sampling): batched, left-padded prompts, a KV cache (prefill once, then one position
// per step), logits processors in transformers' order (repetition penalty, then temperature,
// top-k, top-p when sampling), and finished rows padded with pad_token_id.
//
// Decoder-only models get position ids from the attention mask as transformers computes them
// (cumsum(mask) - 1, 1 at padding), so a left-padded row generates what it would alone.
// Encoder-decoder models run the encoder once; its last hidden state is passed back on every step
// while the decoder input grows from decoder_start_token_id.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "models/model.h"

namespace peftcpp::models {

struct GenerationConfig {
  std::int64_t max_new_tokens = 20;
  bool do_sample = false;
  /// Sampling warpers (used only with do_sample), transformers' defaults: temperature 1 and
  /// top_p 1 disable theirs, top_k 0 disables top-k.
  double temperature = 1.0;
  std::int64_t top_k = 50;
  double top_p = 1.0;
  /// 1 = off.
  double repetition_penalty = 1.0;
  /// Any of these ends a row; empty = never.
  std::vector<std::int64_t> eos_token_id;
  /// Fills finished rows; nullopt = the first eos id (as transformers).
  std::optional<std::int64_t> pad_token_id;
  /// Encoder-decoder models: the first decoder token; nullopt = the config's
  /// decoder_start_token_id, else its bos_token_id.
  std::optional<std::int64_t> decoder_start_token_id;
  /// Seeds the sampler (same seed, same tokens).
  std::uint64_t seed = 0;
  /// Keep the processed scores of every step.
  bool output_scores = false;

  /// eos / pad / decoder start ids from a model config (what transformers' default
  /// GenerationConfig takes from it).
  static GenerationConfig from_model_config(const HfConfig& config);
};

struct GenerateOutput {
  /// Decoder-only: prompt + generated tokens [B, T + n]; encoder-decoder: the decoder sequence
  /// [B, 1 + n] starting with decoder_start_token_id. n <= max_new_tokens (all rows finished).
  Tensor sequences;
  /// output_scores: one float32 [B, vocab] per generated position (after the processors).
  std::vector<Tensor> scores;
};

/// Virtual tokens of prompt-learning methods, put in place as PEFT's PeftModelForCausalLM /
/// PeftModelForSeq2SeqLM generate does (at most one of the two).
struct VirtualTokens {
  /// Prefix tuning: P positions of keys/values per (decoder) layer that the self-attention cache
  /// starts from; never written to. Decoder-only models see the attention mask with P ones in
  /// front and the prompt's own position ids (cumsum(mask) - 1) shifted by P; encoder-decoder
  /// models start their decoder cache from it (cross-attention computed as usual).
  const KVCache* prefix = nullptr;
  /// Prompt tuning / P-tuning: [B, P, hidden] embeddings put before the token embeddings of the
  /// prompt (decoder-only: the mask gets P ones in front, positions run on from 0 as the model
  /// counts them, padding included) or of the encoder input (encoder-decoder, mask extended).
  Tensor embeds;
};

/// Generates from `input_ids` int64 [B, T] (left padded) with `attention_mask` [B, T] (undefined =
/// derived from pad_token_id, as transformers). Runs without autograd. Throws ValueError naming
/// what is wrong (shapes, a model without logits, a finished row without pad id, ...).
GenerateOutput generate(
    PreTrainedModel& model,
    const Tensor& input_ids,
    const Tensor& attention_mask,
    const GenerationConfig& config,
    const VirtualTokens& virtual_tokens);
/// Same with an optional prefix cache (VirtualTokens::prefix).
GenerateOutput generate(
    PreTrainedModel& model,
    const Tensor& input_ids,
    const Tensor& attention_mask,
    const GenerationConfig& config,
    const KVCache* prefix = nullptr);

}  // namespace peftcpp::models
