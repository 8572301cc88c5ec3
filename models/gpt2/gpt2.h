// GPT-2 (transformers' modeling_gpt2, eager attention): the bare GPT2Model and its task heads.
//
// Parameter and module names are transformers' (`transformer.h.0.attn.c_attn.weight`,
// `lm_head.weight`); the projections are transformers' Conv1D (weight [in, out]) held through
// UnaryModule members so PEFT can swap them. transformers' `attn.bias` / `attn.masked_bias`
// buffers are not kept: the causal mask is built per forward.
//
// Shape legend: B batch, T new tokens, P cached (or prefix) positions, S = P + T, C n_embd,
// H heads, D = C / H.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/model.h"
#include "nn/containers.h"

namespace peftcpp::models {

/// The attention masks of one forward, built once by GPT2Model and shared by every layer.
struct GPT2AttentionMask {
  /// Additive, [B or 1, 1, T, S] in the compute dtype: finfo.min where the causal mask hides a key
  /// plus (1 - attention_mask) * finfo.min (so a key hidden by both is -inf, as in transformers).
  Tensor additive;
  /// Bool [T, S]: key j is visible to query i when j <= P + i.
  Tensor causal;
  /// Additive [B, 1, 1, S] padding part (compute dtype); undefined without attention_mask.
  Tensor padding;
};

/// The masks of transformers' eager GPT-2 path for `new_tokens` queries after `past` cached
/// positions; `attention_mask` [batch, past + new_tokens] (1 = attend) or undefined.
GPT2AttentionMask gpt2_attention_mask(
    const Tensor& attention_mask,
    std::int64_t batch,
    std::int64_t new_tokens,
    std::int64_t past,
    DType dtype,
    Device device);

/// transformers' GPT2Attention (self-attention only): c_attn -> q, k, v -> attention -> c_proj.
class GPT2Attention : public nn::Module {
 public:
  GPT2Attention(const GPT2Config& config, std::int64_t layer_idx);
  std::string type_name() const override {
    return "GPT2Attention";
  }
  /// x [B, T, C] -> [B, T, C]. `cache` (may be null) holds this layer's past keys/values
  /// ([B, H, P, D]), which are put in front of the new ones; with `use_cache` the concatenation
  /// replaces them.
  Tensor forward(const Tensor& x, const GPT2AttentionMask& mask, LayerKV* cache, bool use_cache);

  std::shared_ptr<nn::UnaryModule> c_attn;
  std::shared_ptr<nn::UnaryModule> c_proj;
  std::shared_ptr<nn::UnaryModule> attn_dropout;
  std::shared_ptr<nn::UnaryModule> resid_dropout;

 private:
  Tensor attend(const Tensor& q, const Tensor& k, const Tensor& v, const GPT2AttentionMask& mask);

  std::int64_t num_heads_, head_dim_, layer_idx_;
  bool scale_attn_weights_, scale_by_inverse_layer_idx_, reorder_and_upcast_attn_;
  double attn_pdrop_;
};

/// c_fc -> act (activation_function) -> c_proj -> dropout.
class GPT2MLP : public nn::UnaryModule {
 public:
  GPT2MLP(std::int64_t inner_size, const GPT2Config& config);
  std::string type_name() const override {
    return "GPT2MLP";
  }
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<nn::UnaryModule> c_fc;
  std::shared_ptr<nn::UnaryModule> c_proj;
  std::shared_ptr<nn::UnaryModule> act;
  std::shared_ptr<nn::UnaryModule> dropout;
};

/// Pre-norm block: x + attn(ln_1(x)), then h + mlp(ln_2(h)).
class GPT2Block : public nn::Module {
 public:
  GPT2Block(const GPT2Config& config, std::int64_t layer_idx);
  std::string type_name() const override {
    return "GPT2Block";
  }
  Tensor forward(const Tensor& x, const GPT2AttentionMask& mask, LayerKV* cache, bool use_cache);

  std::shared_ptr<nn::UnaryModule> ln_1;
  std::shared_ptr<GPT2Attention> attn;
  std::shared_ptr<nn::UnaryModule> ln_2;
  std::shared_ptr<GPT2MLP> mlp;
};

/// The bare transformer: wte + wpe (+ wte(token_type_ids)) -> drop -> h.* -> ln_f. Returns
/// last_hidden_state (after ln_f) and, when asked, n_layer + 1 hidden states (index 0 = embedding
/// output, the last one after ln_f). Reads and extends ModelInputs::past_key_values.
class GPT2Model : public PreTrainedModel {
 public:
  explicit GPT2Model(const GPT2Config& config);
  std::string type_name() const override {
    return "GPT2Model";
  }
  ModelOutput forward(const ModelInputs& inputs) override;
  const HfConfig& config() const override {
    return config_;
  }
  nn::ModulePtr input_embeddings() override {
    return wte;
  }
  std::string layers_path() const override {
    return "h";
  }
  const GPT2Config& gpt2_config() const {
    return config_;
  }

  std::shared_ptr<nn::UnaryModule> wte;
  std::shared_ptr<nn::UnaryModule> wpe;
  std::shared_ptr<nn::UnaryModule> drop;
  std::shared_ptr<nn::ModuleList> h;
  std::shared_ptr<nn::UnaryModule> ln_f;

 private:
  GPT2Config config_;
};

/// Shared part of the task models: `transformer` plus the config.
class GPT2HeadModel : public PreTrainedModel {
 public:
  const HfConfig& config() const override {
    return transformer->config();
  }
  nn::ModulePtr input_embeddings() override {
    return transformer->input_embeddings();
  }
  std::string layers_path() const override {
    return "transformer.h";
  }

  std::shared_ptr<GPT2Model> transformer;

 protected:
  explicit GPT2HeadModel(const GPT2Config& config);
  const GPT2Config& gpt2_config() const {
    return transformer->gpt2_config();
  }
};

/// lm_head (Linear, no bias) on every position; its weight is transformer.wte.weight when
/// tie_word_embeddings (stored once, under transformer.wte.weight).
class GPT2LMHeadModel : public GPT2HeadModel {
 public:
  explicit GPT2LMHeadModel(const GPT2Config& config);
  std::string type_name() const override {
    return "GPT2LMHeadModel";
  }
  ModelOutput forward(const ModelInputs& inputs) override;
  nn::ModulePtr output_embeddings() override {
    return lm_head;
  }
  std::vector<std::string> output_module_names() const override {
    return {"lm_head"};
  }
  std::vector<std::pair<std::string, std::string>> tied_weights() const override;

  std::shared_ptr<nn::UnaryModule> lm_head;
};

/// `score` (Linear, no bias) on the last non-padding token of each row (the rightmost token that
/// is not pad_token_id; the last token when there is no pad token or only inputs_embeds).
/// logits [B, num_labels].
class GPT2ForSequenceClassification : public GPT2HeadModel {
 public:
  explicit GPT2ForSequenceClassification(const GPT2Config& config);
  std::string type_name() const override {
    return "GPT2ForSequenceClassification";
  }
  ModelOutput forward(const ModelInputs& inputs) override;
  std::vector<std::string> output_module_names() const override {
    return {"score"};
  }

  std::shared_ptr<nn::UnaryModule> score;
};

/// dropout -> classifier (Linear with bias) on every position: logits [B, T, num_labels].
class GPT2ForTokenClassification : public GPT2HeadModel {
 public:
  explicit GPT2ForTokenClassification(const GPT2Config& config);
  std::string type_name() const override {
    return "GPT2ForTokenClassification";
  }
  ModelOutput forward(const ModelInputs& inputs) override;
  std::vector<std::string> output_module_names() const override {
    return {"classifier"};
  }

  std::shared_ptr<nn::UnaryModule> dropout;
  std::shared_ptr<nn::UnaryModule> classifier;
};

/// qa_outputs (Linear C -> 2): start_logits / end_logits [B, T].
class GPT2ForQuestionAnswering : public GPT2HeadModel {
 public:
  explicit GPT2ForQuestionAnswering(const GPT2Config& config);
  std::string type_name() const override {
    return "GPT2ForQuestionAnswering";
  }
  ModelOutput forward(const ModelInputs& inputs) override;
  std::vector<std::string> output_module_names() const override {
    return {"qa_outputs"};
  }

  std::shared_ptr<nn::UnaryModule> qa_outputs;
};

/// The registry's factory: "GPT2Model" (or ""), "GPT2LMHeadModel",
/// "GPT2ForSequenceClassification", "GPT2ForTokenClassification", "GPT2ForQuestionAnswering",
/// initialised as transformers' _init_weights (N(0, initializer_range), c_proj weights
/// N(0, initializer_range / sqrt(2 n_layer)), zero biases, unit LayerNorms) from the default
/// generator. `config` must be a GPT2Config.
ModelPtr make_gpt2_model(const HfConfig& config, const std::string& architecture);

}  // namespace peftcpp::models
