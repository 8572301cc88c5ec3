// T5Model, T5ForConditionalGeneration and T5EncoderModel behind models/model.h. Port of
// transformers/models/t5/modeling_t5.py @9feae5fb (4.48.0.dev0).
//
// One embedding `shared` [vocab, d_model] is the encoder's and the decoder's embed_tokens (the
// same module, so state_dict() lists all three names while checkpoints store `shared.weight`
// only: tied_weights() says so). With tie_word_embeddings, lm_head's weight is the same tensor
// and the decoder output is scaled by d_model^-0.5 before it, as transformers does.
//
// config().architectures is the class's name, as transformers' save_pretrained writes it.
//
// Encoder-decoder calls (ModelInputs):
//   input_ids / inputs_embeds + attention_mask       -> encoder (skipped when
//                                                       encoder_last_hidden_state is given)
//   decoder_input_ids / decoder_inputs_embeds        -> decoder (required; labels are not shifted
//   + decoder_attention_mask [B, past + T]              into decoder inputs here)
//   past_key_values: `self` = decoder self-attention keys/values (earlier positions or prefix
//   tuning's virtual tokens, read always, extended when use_cache); `cross` = cross-attention
//   keys/values (computed from the encoder output unless present, stored when use_cache).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/model.h"
#include "models/t5/t5_stack.h"

namespace peftcpp::models::t5 {

class T5PreTrainedModel : public PreTrainedModel {
 public:
  const HfConfig& config() const override {
    return *config_;
  }
  const T5Config& t5_config() const {
    return *config_;
  }
  nn::ModulePtr input_embeddings() override {
    return shared;
  }

  /// Embedding [vocab_size, d_model], weight ~ N(0, initializer_factor).
  std::shared_ptr<nn::UnaryModule> shared;
  std::shared_ptr<T5Stack> encoder;

 protected:
  explicit T5PreTrainedModel(const T5Config& config);
  /// Builds `shared` and `encoder` and registers them (in transformers' order).
  void build_encoder();
  /// The encoder output for `in`: encoder_last_hidden_state when given (out stays empty),
  /// else the encoder's run. Undefined when there are no encoder inputs and `cache` already
  /// holds the cross-attention keys/values.
  Tensor encode(const ModelInputs& in, std::vector<Tensor>* hidden_states);
  /// Checks the inputs T5 does not take (token_type_ids, position_ids).
  void check_inputs(const ModelInputs& in, const char* cls) const;

  std::unique_ptr<T5Config> config_;
};

/// Encoder + decoder; last_hidden_state is the decoder's output.
class T5Model : public T5PreTrainedModel {
 public:
  explicit T5Model(const T5Config& config);
  std::string type_name() const override {
    return "T5Model";
  }
  ModelOutput forward(const ModelInputs& inputs) override;
  std::vector<std::pair<std::string, std::string>> tied_weights() const override;
  std::string layers_path() const override {
    return "decoder.block";
  }

  std::shared_ptr<T5Stack> decoder;
};

/// Encoder + decoder + lm_head (logits [B, T, vocab]).
class T5ForConditionalGeneration : public T5PreTrainedModel {
 public:
  explicit T5ForConditionalGeneration(const T5Config& config);
  std::string type_name() const override {
    return "T5ForConditionalGeneration";
  }
  ModelOutput forward(const ModelInputs& inputs) override;
  nn::ModulePtr output_embeddings() override {
    return lm_head;
  }
  std::vector<std::string> output_module_names() const override {
    return {"lm_head"};
  }
  std::vector<std::pair<std::string, std::string>> tied_weights() const override;
  std::string layers_path() const override {
    return "decoder.block";
  }

  std::shared_ptr<T5Stack> decoder;
  /// Linear d_model -> vocab_size without bias; its weight is shared.weight when tied.
  std::shared_ptr<nn::UnaryModule> lm_head;
};

/// The encoder alone: last_hidden_state and hidden_states (num_layers + 1 entries).
class T5EncoderModel : public T5PreTrainedModel {
 public:
  explicit T5EncoderModel(const T5Config& config);
  std::string type_name() const override {
    return "T5EncoderModel";
  }
  ModelOutput forward(const ModelInputs& inputs) override;
  std::vector<std::pair<std::string, std::string>> tied_weights() const override;
  std::string layers_path() const override {
    return "encoder.block";
  }
};

/// The registry's factory for model_type "t5": "" or "T5Model", "T5ForConditionalGeneration",
/// "T5EncoderModel"; throws ValueError listing them for any other name, or when `config` is
/// not a T5Config.
ModelPtr make_t5_model(const HfConfig& config, const std::string& architecture);

}  // namespace peftcpp::models::t5
