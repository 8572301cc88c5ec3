// T5 task models and factory; see t5_model.h. Port of transformers/models/t5/modeling_t5.py
// @9feae5fb.
#include "models/t5/t5_model.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "tensor/ops.h"

namespace peftcpp::models::t5 {
namespace {

T5StackInputs decoder_inputs(const ModelInputs& in, const Tensor& encoder_out, const char* cls) {
  PEFTCPP_CHECK(
      in.decoder_input_ids.defined() || in.decoder_inputs_embeds.defined(),
      "[t5] ",
      cls,
      ".forward: needs decoder_input_ids or decoder_inputs_embeds (labels are not shifted into "
      "decoder inputs here)");
  T5StackInputs d;
  d.input_ids = in.decoder_input_ids;
  d.inputs_embeds = in.decoder_inputs_embeds;
  d.attention_mask = in.decoder_attention_mask;
  d.encoder_hidden_states = encoder_out;
  d.encoder_attention_mask = in.attention_mask;
  d.cache = in.past_key_values;
  d.use_cache = in.use_cache;
  d.output_hidden_states = in.output_hidden_states;
  return d;
}

}  // namespace

// ---- shared pieces -----------------------------------------------------------------------

T5PreTrainedModel::T5PreTrainedModel(const T5Config& config)
    : config_(std::make_unique<T5Config>(config)) {
  PEFTCPP_CHECK(
      config.vocab_size > 0 && config.d_model > 0 && config.d_ff > 0,
      "[t5] config needs positive vocab_size, d_model and d_ff, got ",
      config.vocab_size,
      ", ",
      config.d_model,
      ", ",
      config.d_ff);
}

void T5PreTrainedModel::build_encoder() {
  const T5Config& c = *config_;
  // Embedding already draws N(0, 1): redraw only for another initializer_factor.
  auto emb = std::make_shared<nn::Embedding>(c.vocab_size, c.d_model);
  if (c.initializer_factor != 1.0) {
    NoGradGuard no_grad;
    normal_(emb->weight, 0.0, c.initializer_factor);
  }
  shared = emb;
  register_module("shared", &shared);
  encoder = std::make_shared<T5Stack>(c, /*is_decoder=*/false, c.num_layers, shared);
  register_module("encoder", &encoder);
}

void T5PreTrainedModel::check_inputs(const ModelInputs& in, const char* cls) const {
  PEFTCPP_CHECK(
      !in.token_type_ids.defined() && !in.position_ids.defined(),
      "[t5] ",
      cls,
      ".forward: T5 takes no ",
      in.token_type_ids.defined() ? "token_type_ids" : "position_ids",
      " (positions enter through relative attention buckets)");
}

Tensor T5PreTrainedModel::encode(const ModelInputs& in, std::vector<Tensor>* hidden_states) {
  if (in.encoder_last_hidden_state.defined())
    return in.encoder_last_hidden_state;
  const KVCache* cache = in.past_key_values;
  const bool cross_cached =
      cache != nullptr && !cache->cross.empty() && cache->cross.front().key.defined();
  if (!in.input_ids.defined() && !in.inputs_embeds.defined() && cross_cached)
    return Tensor();
  T5StackInputs e;
  e.input_ids = in.input_ids;
  e.inputs_embeds = in.inputs_embeds;
  e.attention_mask = in.attention_mask;
  e.output_hidden_states = in.output_hidden_states;
  T5StackOutput out = encoder->forward(e);
  if (hidden_states != nullptr)
    *hidden_states = std::move(out.hidden_states);
  return out.last_hidden_state;
}

// ---- T5Model -----------------------------------------------------------------------------

T5Model::T5Model(const T5Config& config) : T5PreTrainedModel(config) {
  config_->architectures = std::vector<std::string>{"T5Model"};
  build_encoder();
  decoder = std::make_shared<T5Stack>(*config_, true, config_->decoder_layers(), shared);
  register_module("decoder", &decoder);
}

ModelOutput T5Model::forward(const ModelInputs& in) {
  check_inputs(in, "T5Model");
  ModelOutput out;
  out.encoder_last_hidden_state = encode(in, &out.encoder_hidden_states);
  T5StackOutput dec =
      decoder->forward(decoder_inputs(in, out.encoder_last_hidden_state, "T5Model"));
  out.last_hidden_state = dec.last_hidden_state;
  out.decoder_hidden_states = std::move(dec.hidden_states);
  return out;
}

std::vector<std::pair<std::string, std::string>> T5Model::tied_weights() const {
  return {
      {"encoder.embed_tokens.weight", "shared.weight"},
      {"decoder.embed_tokens.weight", "shared.weight"}};
}

// ---- T5ForConditionalGeneration ----------------------------------------------------------

T5ForConditionalGeneration::T5ForConditionalGeneration(const T5Config& config)
    : T5PreTrainedModel(config) {
  config_->architectures = std::vector<std::string>{"T5ForConditionalGeneration"};
  build_encoder();
  decoder = std::make_shared<T5Stack>(*config_, true, config_->decoder_layers(), shared);
  register_module("decoder", &decoder);
  auto head = std::make_shared<nn::Linear>(config_->d_model, config_->vocab_size, false);
  if (config_->tie_word_embeddings) {
    auto emb = std::dynamic_pointer_cast<nn::Embedding>(shared);
    head->weight = emb->weight;  // the same tensor: one parameter under two names
  } else {
    NoGradGuard no_grad;
    normal_(head->weight, 0.0, config_->initializer_factor);
  }
  lm_head = head;
  register_module("lm_head", &lm_head);
}

ModelOutput T5ForConditionalGeneration::forward(const ModelInputs& in) {
  check_inputs(in, "T5ForConditionalGeneration");
  ModelOutput out;
  out.encoder_last_hidden_state = encode(in, &out.encoder_hidden_states);
  T5StackOutput dec = decoder->forward(
      decoder_inputs(in, out.encoder_last_hidden_state, "T5ForConditionalGeneration"));
  Tensor seq = dec.last_hidden_state;
  if (config_->tie_word_embeddings)  // rescale before projecting onto the shared vocabulary
    seq = mul(seq, std::pow(static_cast<double>(config_->d_model), -0.5));
  out.logits = lm_head->forward(seq);
  out.decoder_hidden_states = std::move(dec.hidden_states);
  return out;
}

std::vector<std::pair<std::string, std::string>> T5ForConditionalGeneration::tied_weights() const {
  std::vector<std::pair<std::string, std::string>> tied = {
      {"encoder.embed_tokens.weight", "shared.weight"},
      {"decoder.embed_tokens.weight", "shared.weight"}};
  if (config_->tie_word_embeddings)
    tied.emplace_back("lm_head.weight", "shared.weight");
  return tied;
}

// ---- T5EncoderModel ----------------------------------------------------------------------

T5EncoderModel::T5EncoderModel(const T5Config& config) : T5PreTrainedModel(config) {
  config_->architectures = std::vector<std::string>{"T5EncoderModel"};
  build_encoder();
}

ModelOutput T5EncoderModel::forward(const ModelInputs& in) {
  check_inputs(in, "T5EncoderModel");
  PEFTCPP_CHECK(
      !in.decoder_input_ids.defined() && !in.decoder_inputs_embeds.defined() &&
          !in.encoder_last_hidden_state.defined(),
      "[t5] T5EncoderModel.forward: the encoder-only model takes no decoder inputs or "
      "encoder_last_hidden_state");
  T5StackInputs e;
  e.input_ids = in.input_ids;
  e.inputs_embeds = in.inputs_embeds;
  e.attention_mask = in.attention_mask;
  e.output_hidden_states = in.output_hidden_states;
  T5StackOutput enc = encoder->forward(e);
  ModelOutput out;
  out.last_hidden_state = enc.last_hidden_state;
  out.hidden_states = std::move(enc.hidden_states);
  return out;
}

std::vector<std::pair<std::string, std::string>> T5EncoderModel::tied_weights() const {
  return {{"encoder.embed_tokens.weight", "shared.weight"}};
}

// ---- factory -----------------------------------------------------------------------------

ModelPtr make_t5_model(const HfConfig& config, const std::string& architecture) {
  const auto* c = dynamic_cast<const T5Config*>(&config);
  PEFTCPP_CHECK(
      c != nullptr,
      "[t5] make_t5_model needs a T5Config, got ",
      config.class_name(),
      " (model_type '",
      config.model_type(),
      "')");
  if (architecture.empty() || architecture == "T5Model")
    return std::make_shared<T5Model>(*c);
  if (architecture == "T5ForConditionalGeneration")
    return std::make_shared<T5ForConditionalGeneration>(*c);
  if (architecture == "T5EncoderModel")
    return std::make_shared<T5EncoderModel>(*c);
  throw ValueError(
      "[t5] unknown architecture '" + architecture +
      "' (known: T5Model, T5ForConditionalGeneration, T5EncoderModel)");
}

}  // namespace peftcpp::models::t5
