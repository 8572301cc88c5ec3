#include "models/generation.h"

#include <algorithm>

#include "autograd/grad_mode.h"
#include "models/logits_process.h"
#include "tensor/ops.h"

namespace peftcpp::models {
namespace {

std::optional<std::int64_t> first_id(const TokenIds& ids) {
  if (ids.is_none() || ids.ids().empty())
    return std::nullopt;
  return ids.ids().front();
}

// transformers' _prepare_attention_mask_for_generation.
Tensor default_attention_mask(const Tensor& ids, const GenerationConfig& cfg) {
  const std::optional<std::int64_t> pad = cfg.pad_token_id;
  const bool pad_is_eos =
      pad &&
      std::find(cfg.eos_token_id.begin(), cfg.eos_token_id.end(), *pad) != cfg.eos_token_id.end();
  if (pad && !pad_is_eos && any(eq(ids, static_cast<double>(*pad))).item<bool>())
    return ne(ids, static_cast<double>(*pad)).to(kInt64);
  return ones(ids.shape(), kInt64, ids.device());
}

// Processed scores of one step: float32 [B, V] from the last position's logits.
Tensor process(const Tensor& last_logits, const Tensor& sequences, const GenerationConfig& cfg) {
  Tensor s = last_logits.to(kFloat32).contiguous();
  if (cfg.repetition_penalty != 1.0)
    s = repetition_penalty(s, sequences, cfg.repetition_penalty);
  if (cfg.do_sample) {
    if (cfg.temperature != 1.0)
      s = temperature_warp(s, cfg.temperature);
    if (cfg.top_k != 0)
      s = top_k_filter(s, cfg.top_k);
    if (cfg.top_p < 1.0)
      s = top_p_filter(s, cfg.top_p);
  }
  return s;
}

Tensor last_position_logits(const ModelOutput& out) {
  if (!out.logits.defined() || out.logits.dim() != 3)
    throw ValueError("[generate] the model returned no [batch, seq, vocab] logits (not a LM head)");
  return out.logits.select(1, out.logits.size(1) - 1);
}

}  // namespace

GenerationConfig GenerationConfig::from_model_config(const HfConfig& config) {
  GenerationConfig g;
  g.eos_token_id = config.eos_token_id.ids();
  g.pad_token_id = first_id(config.pad_token_id);
  g.decoder_start_token_id = first_id(config.decoder_start_token_id);
  if (!g.decoder_start_token_id && config.is_encoder_decoder)
    g.decoder_start_token_id = first_id(config.bos_token_id);
  return g;
}

GenerateOutput generate(
    PreTrainedModel& model,
    const Tensor& input_ids,
    const Tensor& attention_mask,
    const GenerationConfig& cfg,
    const KVCache* prefix) {
  return generate(model, input_ids, attention_mask, cfg, VirtualTokens{prefix, Tensor()});
}

GenerateOutput generate(
    PreTrainedModel& model,
    const Tensor& input_ids,
    const Tensor& attention_mask,
    const GenerationConfig& cfg_in,
    const VirtualTokens& virtual_tokens) {
  PEFTCPP_CHECK_SHAPE(
      input_ids.defined() && input_ids.dim() == 2 && input_ids.size(1) > 0,
      "[generate] input_ids must be [batch, seq] with seq > 0, got ",
      input_ids.defined() ? shape_str(input_ids.shape()) : "undefined");
  PEFTCPP_CHECK(cfg_in.max_new_tokens >= 0, "[generate] max_new_tokens must be >= 0");
  NoGradGuard no_grad;
  GenerationConfig cfg = cfg_in;
  if (!cfg.pad_token_id && !cfg.eos_token_id.empty())
    cfg.pad_token_id = cfg.eos_token_id.front();
  const Tensor ids = input_ids.to(kInt64);
  const std::int64_t b = ids.size(0);
  Tensor mask =
      attention_mask.defined() ? attention_mask.to(kInt64) : default_attention_mask(ids, cfg);
  PEFTCPP_CHECK_SHAPE(
      mask.shape() == ids.shape(),
      "[generate] attention_mask ",
      shape_str(mask.shape()),
      " must match input_ids ",
      shape_str(ids.shape()));
  const bool enc_dec = model.is_encoder_decoder();
  Generator gen(cfg.seed);
  KVCache cache;
  GenerateOutput result;
  // The model's mask: P ones for the virtual tokens (if any) in front of the prompt's mask.
  const KVCache* prefix = virtual_tokens.prefix;
  std::int64_t prefix_len = 0;
  if (prefix != nullptr && !prefix->empty()) {
    cache.self = prefix->self;  // shared handles: the first append copies, never writes into them
    prefix_len = cache.seq_length();
    for (const LayerKV& e : cache.self) {
      PEFTCPP_CHECK_SHAPE(
          e.key.defined() && e.value.defined() && e.key.size(0) == b &&
              e.key.size(-2) == prefix_len,
          "[generate] prefix keys/values must be [",
          b,
          ", kv_heads, ",
          prefix_len,
          ", head_dim] in every layer");
    }
  }
  const Tensor& embeds = virtual_tokens.embeds;
  if (embeds.defined()) {
    PEFTCPP_CHECK(prefix_len == 0, "[generate] give either a prefix cache or prompt embeddings");
    PEFTCPP_CHECK_SHAPE(
        embeds.dim() == 3 && embeds.size(0) == b,
        "[generate] prompt embeddings must be [",
        b,
        ", virtual tokens, hidden], got ",
        shape_str(embeds.shape()));
  }
  const std::int64_t virtual_len = embeds.defined() ? embeds.size(1) : prefix_len;
  auto model_mask = [&](const Tensor& m) {
    return virtual_len == 0 ? m : cat({ones({b, virtual_len}, kInt64, m.device()), m}, 1);
  };
  // [prompt embeddings, token embeddings of `ids`] (prompt tuning / P-tuning prefill).
  auto prompted = [&](const Tensor& token_ids) {
    auto* emb = dynamic_cast<nn::UnaryModule*>(model.input_embeddings().get());
    PEFTCPP_CHECK(emb != nullptr, "[generate] the model has no token embedding module");
    const Tensor e = emb->forward(token_ids);
    return cat({embeds.to(e.dtype()), e}, 1);
  };

  // The growing sequence the processors see and the output returns.
  Tensor sequences = ids;
  ModelInputs step;
  step.past_key_values = &cache;
  step.use_cache = true;
  step.num_logits_to_keep = 1;
  std::vector<std::int64_t> next_position(static_cast<std::size_t>(b));
  if (enc_dec) {
    std::optional<std::int64_t> start = cfg.decoder_start_token_id;
    if (!start)
      start = GenerationConfig::from_model_config(model.config()).decoder_start_token_id;
    if (!start)
      throw ValueError("[generate] encoder-decoder model without decoder_start_token_id");
    sequences = full({b, 1}, static_cast<double>(*start), kInt64, ids.device());
    if (embeds.defined()) {
      step.inputs_embeds = prompted(ids);  // the encoder reads the virtual tokens first
      step.attention_mask = model_mask(mask);
    } else {
      step.input_ids = ids;
      step.attention_mask = mask;
    }
    step.decoder_input_ids = sequences;
  } else if (embeds.defined()) {
    // PEFT drops position ids for prompt tuning: the model counts past + 0 .. P + T - 1.
    step.inputs_embeds = prompted(ids);
    step.attention_mask = model_mask(mask);
  } else {
    // position_ids = cumsum(mask) - 1, with 1 at masked positions (prepare_inputs_for_generation),
    // shifted by the prefix length (PEFT's _adjust_prompt_learning_kwargs for prefix tuning).
    const Tensor csum = cumsum(mask, 1);
    Tensor pos = where(eq(mask, 0.0), ones_like(csum), sub(csum, 1.0));
    if (prefix_len > 0)
      pos = add(pos, static_cast<double>(prefix_len));
    const Tensor counts = sum(mask, {1}).contiguous();
    for (std::int64_t r = 0; r < b; ++r)
      next_position[static_cast<std::size_t>(r)] = counts.data_ptr<std::int64_t>()[r] + prefix_len;
    step.input_ids = ids;
    step.attention_mask = model_mask(mask);
    step.position_ids = pos;
  }

  std::vector<std::uint8_t> unfinished(static_cast<std::size_t>(b), 1);
  for (std::int64_t n = 0; n < cfg.max_new_tokens; ++n) {
    const ModelOutput out = model.forward(step);
    if (enc_dec && n == 0)
      step.encoder_last_hidden_state = out.encoder_last_hidden_state;
    const Tensor scores = process(last_position_logits(out), sequences, cfg);
    if (cfg.output_scores)
      result.scores.push_back(scores);
    Tensor next = cfg.do_sample ? sample_from_scores(scores, gen) : argmax(scores, -1);
    next = next.to(kInt64).contiguous();
    std::int64_t* np = next.data_ptr<std::int64_t>();
    bool all_done = true;
    for (std::int64_t r = 0; r < b; ++r) {
      auto& alive = unfinished[static_cast<std::size_t>(r)];
      if (!alive) {
        if (!cfg.pad_token_id)
          throw ValueError("[generate] a row finished but there is no pad_token_id to fill it");
        np[r] = *cfg.pad_token_id;
      } else if (
          std::find(cfg.eos_token_id.begin(), cfg.eos_token_id.end(), np[r]) !=
          cfg.eos_token_id.end()) {
        alive = 0;
      }
      all_done = all_done && !alive;
    }
    const Tensor column = next.view({b, 1}).to(ids.device());
    sequences = cat({sequences, column}, 1);
    if (all_done || n + 1 == cfg.max_new_tokens)
      break;
    step.inputs_embeds = Tensor();
    if (enc_dec) {
      step.input_ids = Tensor();
      step.decoder_input_ids = column;
    } else {
      step.input_ids = column;
      mask = cat({mask, ones({b, 1}, kInt64, mask.device())}, 1);
      step.attention_mask = model_mask(mask);
      if (!embeds.defined()) {
        std::vector<std::int64_t> pos(static_cast<std::size_t>(b));
        for (std::size_t r = 0; r < pos.size(); ++r) pos[r] = next_position[r]++;
        step.position_ids = tensor<std::int64_t>(pos, {b, 1}, ids.device());
      }
    }
  }
  result.sequences = sequences;
  return result;
}

}  // namespace peftcpp::models
