// The contract every model of the zoo implements, and what PEFT relies on.
//
// A model is an nn::Module whose parameter names are exactly transformers' (`model.layers.0.
// self_attn.q_proj.weight`, `transformer.h.0.attn.c_attn.weight`, `bert.encoder.layer.0...`), so a
// HuggingFace checkpoint loads with load_state_dict and PEFT's target matching sees the same
// module names as in Python. Every Linear / Conv1D / Embedding / LayerNorm child is held through
// a typed member registered with `register_module(name, &member)` and called through its
// UnaryModule interface, so PEFT can swap it for a tuner layer with replace_child.
//
// One forward signature serves every family and task: ModelInputs carries what transformers'
// forward takes by keyword, ModelOutput what it returns (fields a model does not produce stay
// undefined).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/json/hf_config.h"
#include "nn/module.h"
#include "tensor/tensor.h"

namespace peftcpp::models {

/// Keys and values of one attention layer, [batch, kv_heads, seq, head_dim].
struct LayerKV {
  Tensor key;
  Tensor value;
};

/// Past key/values of a decoder (transformers' DynamicCache). A model reads the entries of the
/// layers it runs and, when ModelInputs::use_cache is set, appends the new positions to them.
/// Prefix tuning fills it with the virtual tokens' keys/values before the first forward. For
/// encoder-decoder models `cross` holds the cross-attention keys/values (computed once).
struct KVCache {
  std::vector<LayerKV> self;
  std::vector<LayerKV> cross;
  /// Positions already cached (0 when empty).
  std::int64_t seq_length() const;
  bool empty() const {
    return self.empty();
  }
};

struct ModelInputs {
  /// int64 [B, T]. Exactly one of input_ids / inputs_embeds is given.
  Tensor input_ids;
  /// [B, T, hidden]: embeddings used instead of input_ids (prompt tuning, P-tuning).
  Tensor inputs_embeds;
  /// [B, past + T] (1 = attend, 0 = padding), covering cached/prefix positions too; undefined
  /// = attend everywhere.
  Tensor attention_mask;
  /// int64 [B, T] (BERT segment ids); undefined = zeros.
  Tensor token_type_ids;
  /// int64 [B, T]; undefined = past .. past + T - 1 as transformers computes it.
  Tensor position_ids;

  /// Encoder-decoder models (T5): the decoder side. When `encoder_last_hidden_state` is
  /// defined the encoder is not run again (generation).
  Tensor decoder_input_ids;
  Tensor decoder_inputs_embeds;
  Tensor decoder_attention_mask;
  Tensor encoder_last_hidden_state;

  /// Read (and extended when use_cache) by decoders; null = no cache.
  KVCache* past_key_values = nullptr;
  bool use_cache = false;
  /// Fill ModelOutput::hidden_states (index 0 = embedding output, as transformers).
  bool output_hidden_states = false;
  /// Causal LMs: compute logits for the last N positions only (transformers'
  /// num_logits_to_keep; generation's prefill needs just the last one). 0 = every position.
  std::int64_t num_logits_to_keep = 0;
};

struct ModelOutput {
  /// Task heads: [B, T, vocab] (LM), [B, num_labels] (sequence classification), [B, T,
  /// num_labels] (token classification).
  Tensor logits;
  /// Question answering: [B, T] each.
  Tensor start_logits;
  Tensor end_logits;
  /// Bare models / feature extraction: the last layer's output (after the final norm where the
  /// family has one), and BERT's pooler output.
  Tensor last_hidden_state;
  Tensor pooler_output;
  /// Decoder-only and encoder-only models: num_layers + 1 entries when asked for.
  std::vector<Tensor> hidden_states;
  /// Encoder-decoder models.
  std::vector<Tensor> encoder_hidden_states;
  std::vector<Tensor> decoder_hidden_states;
  Tensor encoder_last_hidden_state;
};

/// What from_pretrained accepts.
struct LoadOptions {
  /// Parameter dtype (float32, bfloat16, float16); nullopt = float32.
  std::optional<DType> dtype;
  /// Throw on missing / unexpected / mis-shaped tensors (listing all of them).
  bool strict = true;
};

class PreTrainedModel : public nn::Module {
 public:
  virtual ModelOutput forward(const ModelInputs& inputs) = 0;
  ModelOutput operator()(const ModelInputs& inputs) {
    return forward(inputs);
  }

  virtual const HfConfig& config() const = 0;
  bool is_encoder_decoder() const {
    return config().is_encoder_decoder;
  }

  /// The token embedding module (`model.embed_tokens`, `transformer.wte`, ...); prompt
  /// tuning embeds its init text with it. For T5 the shared embedding.
  virtual nn::ModulePtr input_embeddings() = 0;
  /// The output projection (`lm_head`), null for models without one.
  virtual nn::ModulePtr output_embeddings() {
    return nullptr;
  }
  /// Name of the module that turns hidden states into task outputs (`lm_head`, `classifier`,
  /// `score`, `qa_outputs`): PEFT's "all-linear" never targets it and, for classification
  /// tasks, PEFT puts it in modules_to_save.
  virtual std::vector<std::string> output_module_names() const {
    return {};
  }
  /// Tied parameters as (tied name, source name) pairs, e.g. ("lm_head.weight",
  /// "model.embed_tokens.weight"): the checkpoint stores only the source, as transformers.
  virtual std::vector<std::pair<std::string, std::string>> tied_weights() const {
    return {};
  }
  /// Dotted name of the decoder layer list ("model.layers", "transformer.h"): PEFT's
  /// `layers_pattern` / `layers_to_transform` and prefix tuning count layers there.
  virtual std::string layers_path() const = 0;

  /// PEFT's layer_replication (tuners_utils.replicate_layers): rebuilds the decoder layer list
  /// from [start, end) ranges of the current layers, in order; a layer used several times is
  /// repeated with its weights shared (the same tensors), each copy gets its new position as its
  /// layer index, and config().num_hidden_layers becomes the new count. Families that support it
  /// override; the default throws ValueError.
  virtual void replicate_layers(const std::vector<std::pair<int, int>>& layer_map);

  /// config.json + model.safetensors exactly as transformers' save_pretrained writes them
  /// (tied weights once, safetensors metadata {"format": "pt"}), written atomically.
  void save_pretrained(const std::filesystem::path& dir) const;
};

using ModelPtr = std::shared_ptr<PreTrainedModel>;

/// Question-answering heads: splits qa_outputs' logits [B, T, 2] into out.start_logits and
/// out.end_logits ([B, T] each, contiguous), as transformers' *ForQuestionAnswering do.
void set_span_logits(ModelOutput& out, const Tensor& logits);

/// Checks an optional id tensor of ModelInputs (input_ids, token_type_ids, position_ids): integer
/// dtype, shape [batch or 1, len]; the error names `who` ("[gpt2]") and `name`.
void check_id_tensor(const Tensor& t, const char* who, const char* name, std::int64_t batch,
                     std::int64_t len);

/// Loads `dir` (config.json + model.safetensors or a sharded index): the family from
/// `model_type`, the task head from `architectures[0]` (e.g. LlamaForCausalLM,
/// BertForSequenceClassification). Throws naming the directory and what was wrong.
ModelPtr from_pretrained(const std::filesystem::path& dir, const LoadOptions& options = {});
/// A model with freshly initialised weights (transformers' _init_weights) for `config`;
/// `architecture` as in config.json's "architectures" (empty = the config's first, else the
/// family's base model).
ModelPtr from_config(const HfConfig& config, const std::string& architecture = "");

}  // namespace peftcpp::models
