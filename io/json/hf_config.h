// Typed HuggingFace `config.json` for the supported architectures (llama, mistral, qwen2, gpt2,
// bert, t5), with transformers' defaults and __init__ logic (commit 9feae5fb, 4.48.0.dev0):
// attribute aliases (gpt2 hidden_size -> n_embd, t5 d_model, ...), derived values
// (num_key_value_heads, head_dim, num_decoder_layers, qwen2's sliding_window, t5's
// feed_forward_proj -> dense_act_fn/is_gated_act), rope_scaling checks, id2label/num_labels.
//
// Every key of the file is kept: keys without a field (architectures' extras, generation settings,
// transformers_version, ...) are written back unchanged. Writing follows transformers'
// `to_diff_dict`: model fields always, PretrainedConfig attributes (bos_token_id,
// tie_word_embeddings, ...) only when they differ from the defaults; `to_json_string` is
// `json.dumps(d, indent=2, sort_keys=True) + "\n"`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/json/json.h"

namespace peftcpp {

namespace json_detail {
class FieldVisitor;
}

/// None, one token id, or a list (eos_token_id may be a list).
class TokenIds {
 public:
  TokenIds() = default;
  TokenIds(std::int64_t id) : kind_(Kind::Scalar), ids_{id} {}
  TokenIds(std::initializer_list<std::int64_t> ids) : kind_(Kind::List), ids_(ids) {}
  TokenIds(std::vector<std::int64_t> ids) : kind_(Kind::List), ids_(std::move(ids)) {}
  bool is_none() const {
    return kind_ == Kind::None;
  }
  bool is_list() const {
    return kind_ == Kind::List;
  }
  const std::vector<std::int64_t>& ids() const {
    return ids_;
  }
  friend bool operator==(const TokenIds&, const TokenIds&) = default;

 private:
  enum class Kind : std::uint8_t { None, Scalar, List };
  Kind kind_ = Kind::None;
  std::vector<std::int64_t> ids_;
};

void from_json(const Json& j, TokenIds& out);
Json to_json(const TokenIds& v);

/// Sizes every architecture has, under transformers' common attribute names.
struct HfDims {
  std::int64_t vocab_size;
  std::int64_t hidden_size;
  std::int64_t num_hidden_layers;
  std::int64_t num_attention_heads;
};

/// transformers' PretrainedConfig: the attributes every model shares.
class HfConfig {
 public:
  virtual ~HfConfig();

  std::optional<std::vector<std::string>> architectures;
  TokenIds bos_token_id;
  TokenIds eos_token_id;
  TokenIds pad_token_id;
  TokenIds sep_token_id;
  TokenIds decoder_start_token_id;
  bool tie_word_embeddings = true;
  bool is_encoder_decoder = false;
  std::optional<std::string> torch_dtype;
  std::optional<std::string> problem_type;
  /// {label id: name}; by default 2 labels LABEL_0, LABEL_1 (num_labels = 2).
  std::vector<std::pair<std::int64_t, std::string>> id2label = {{0, "LABEL_0"}, {1, "LABEL_1"}};
  /// {name: label id} (null or an object).
  Json label2id = Json::object({{"LABEL_0", 0}, {"LABEL_1", 1}});

  /// "llama", "gpt2", ...
  virtual const char* model_type() const = 0;
  /// "LlamaConfig", ...
  virtual const char* class_name() const = 0;
  virtual std::unique_ptr<HfConfig> clone() const = 0;

  /// Architecture sizes under transformers' common names (aliases resolved).
  virtual HfDims dims() const = 0;
  std::int64_t num_labels() const {
    return static_cast<std::int64_t>(id2label.size());
  }
  /// Sets num_labels as transformers does: id2label/label2id become LABEL_0..LABEL_{n-1}.
  void set_num_labels(std::int64_t n);

  /// transformers' __init__ logic: fills derived values, checks values; throws ConfigError.
  void post_init();
  /// transformers' `to_diff_dict()` plus the unknown keys of the loaded file.
  Json to_json() const;
  /// `json.dumps(to_json(), indent=2, sort_keys=True) + "\n"`, as save_pretrained writes.
  std::string to_json_string() const;
  /// Writes to_json_string() to `file` atomically.
  void save(const std::filesystem::path& file) const;
  /// Creates `dir` if needed and writes `dir/config.json`.
  void save_pretrained(const std::filesystem::path& dir) const;

  /// Keys of the loaded file without a field here, in file order (written back unchanged).
  const JsonObject& extra_fields() const {
    return extra_;
  }
  /// The file this config was loaded from ("" when built in code).
  const std::string& source() const {
    return source_;
  }

  template <class C>
  const C& as() const {
    const C* c = dynamic_cast<const C*>(this);
    if (c == nullptr) {
      throw_bad_cast(C::kClassName);
    }
    return *c;
  }

 protected:
  HfConfig() = default;
  HfConfig(const HfConfig&) = default;
  HfConfig& operator=(const HfConfig&) = default;
  [[noreturn]] void fail_key(std::string_view key, std::string_view what) const;

  /// Lists the fields once (model fields as Always, PretrainedConfig ones via v.common).
  virtual void visit_fields(json_detail::FieldVisitor& v);
  /// Derived values and checks of the model's __init__; overrides call the base first.
  virtual void resolve(json_detail::FieldVisitor& v);
  /// A config with the class defaults (for to_diff_dict).
  virtual std::unique_ptr<HfConfig> make_default() const = 0;

 private:
  friend std::unique_ptr<HfConfig> hf_config_from_json(const Json& json, std::string_view source);
  void load(const JsonObject& obj, std::string source);
  [[noreturn]] void throw_bad_cast(std::string_view wanted) const;

  JsonObject extra_;
  JsonObject loaded_;
  std::string source_;
};

#define PEFTCPP_HF_CONFIG_BOILERPLATE(Cls, type)            \
  static constexpr const char* kClassName = #Cls;           \
  static constexpr const char* kModelType = type;           \
  const char* model_type() const override {                 \
    return kModelType;                                      \
  }                                                         \
  const char* class_name() const override {                 \
    return kClassName;                                      \
  }                                                         \
  std::unique_ptr<HfConfig> clone() const override {        \
    return std::make_unique<Cls>(*this);                    \
  }                                                         \
                                                            \
 protected:                                                 \
  std::unique_ptr<HfConfig> make_default() const override { \
    return std::make_unique<Cls>();                         \
  }                                                         \
  void visit_fields(json_detail::FieldVisitor& v) override; \
  void resolve(json_detail::FieldVisitor& v) override;      \
                                                            \
 public:

/// transformers' LlamaConfig.
class LlamaConfig : public HfConfig {
 public:
  PEFTCPP_HF_CONFIG_BOILERPLATE(LlamaConfig, "llama")
  LlamaConfig() {
    bos_token_id = 1;
    eos_token_id = 2;
    tie_word_embeddings = false;
  }

  std::int64_t vocab_size = 32000;
  std::int64_t hidden_size = 4096;
  std::int64_t intermediate_size = 11008;
  std::int64_t num_hidden_layers = 32;
  std::int64_t num_attention_heads = 32;
  /// Defaults to num_attention_heads.
  std::optional<std::int64_t> num_key_value_heads;
  std::string hidden_act = "silu";
  std::int64_t max_position_embeddings = 2048;
  double initializer_range = 0.02;
  double rms_norm_eps = 1e-6;
  bool use_cache = true;
  std::int64_t pretraining_tp = 1;
  double rope_theta = 10000.0;
  /// null or {"rope_type": "linear"|"dynamic"|"yarn"|"longrope"|"llama3", "factor": ..., ...}.
  Json rope_scaling;
  bool attention_bias = false;
  double attention_dropout = 0.0;
  bool mlp_bias = false;
  /// Defaults to hidden_size / num_attention_heads.
  std::optional<std::int64_t> head_dim;

  std::int64_t kv_heads() const {
    return num_key_value_heads.value_or(num_attention_heads);
  }
  std::int64_t head_size() const {
    return head_dim.value_or(num_attention_heads > 0 ? hidden_size / num_attention_heads : 0);
  }
  /// rope_scaling's rope_type, "default" when there is none.
  std::string rope_type() const;

  HfDims dims() const override {
    return {vocab_size, hidden_size, num_hidden_layers, num_attention_heads};
  }
};

/// transformers' MistralConfig (4.48 has no rope_scaling field; a file's one is kept as extra).
class MistralConfig : public HfConfig {
 public:
  PEFTCPP_HF_CONFIG_BOILERPLATE(MistralConfig, "mistral")
  MistralConfig() {
    bos_token_id = 1;
    eos_token_id = 2;
    tie_word_embeddings = false;
  }

  std::int64_t vocab_size = 32000;
  std::int64_t hidden_size = 4096;
  std::int64_t intermediate_size = 14336;
  std::int64_t num_hidden_layers = 32;
  std::int64_t num_attention_heads = 32;
  /// null in a file means num_attention_heads.
  std::optional<std::int64_t> num_key_value_heads = 8;
  /// Defaults to hidden_size / num_attention_heads.
  std::optional<std::int64_t> head_dim;
  std::string hidden_act = "silu";
  std::int64_t max_position_embeddings = 4096 * 32;
  double initializer_range = 0.02;
  double rms_norm_eps = 1e-6;
  bool use_cache = true;
  double rope_theta = 10000.0;
  std::optional<std::int64_t> sliding_window = 4096;
  double attention_dropout = 0.0;

  std::int64_t kv_heads() const {
    return num_key_value_heads.value_or(num_attention_heads);
  }
  std::int64_t head_size() const {
    return head_dim.value_or(num_attention_heads > 0 ? hidden_size / num_attention_heads : 0);
  }

  HfDims dims() const override {
    return {vocab_size, hidden_size, num_hidden_layers, num_attention_heads};
  }
};

/// transformers' Qwen2Config (head size is always hidden_size / num_attention_heads).
class Qwen2Config : public HfConfig {
 public:
  PEFTCPP_HF_CONFIG_BOILERPLATE(Qwen2Config, "qwen2")
  Qwen2Config() {
    tie_word_embeddings = false;
  }

  std::int64_t vocab_size = 151936;
  std::int64_t hidden_size = 4096;
  std::int64_t intermediate_size = 22016;
  std::int64_t num_hidden_layers = 32;
  std::int64_t num_attention_heads = 32;
  /// null in a file means num_attention_heads.
  std::optional<std::int64_t> num_key_value_heads = 32;
  std::string hidden_act = "silu";
  std::int64_t max_position_embeddings = 32768;
  double initializer_range = 0.02;
  double rms_norm_eps = 1e-6;
  bool use_cache = true;
  double rope_theta = 10000.0;
  Json rope_scaling;
  bool use_sliding_window = false;
  /// Set to null by post_init unless use_sliding_window.
  std::optional<std::int64_t> sliding_window = 4096;
  std::int64_t max_window_layers = 28;
  double attention_dropout = 0.0;

  std::int64_t kv_heads() const {
    return num_key_value_heads.value_or(num_attention_heads);
  }
  std::int64_t head_size() const {
    return num_attention_heads > 0 ? hidden_size / num_attention_heads : 0;
  }
  std::string rope_type() const;

  HfDims dims() const override {
    return {vocab_size, hidden_size, num_hidden_layers, num_attention_heads};
  }
};

/// transformers' GPT2Config (hidden_size = n_embd, num_attention_heads = n_head, ...).
class GPT2Config : public HfConfig {
 public:
  PEFTCPP_HF_CONFIG_BOILERPLATE(GPT2Config, "gpt2")
  GPT2Config() {
    bos_token_id = 50256;
    eos_token_id = 50256;
  }

  std::int64_t vocab_size = 50257;
  std::int64_t n_positions = 1024;
  std::int64_t n_embd = 768;
  std::int64_t n_layer = 12;
  std::int64_t n_head = 12;
  /// MLP width; null means 4 * n_embd.
  std::optional<std::int64_t> n_inner;
  std::string activation_function = "gelu_new";
  double resid_pdrop = 0.1;
  double embd_pdrop = 0.1;
  double attn_pdrop = 0.1;
  double layer_norm_epsilon = 1e-5;
  double initializer_range = 0.02;
  std::string summary_type = "cls_index";
  bool summary_use_proj = true;
  std::optional<std::string> summary_activation;
  bool summary_proj_to_labels = true;
  double summary_first_dropout = 0.1;
  bool scale_attn_weights = true;
  bool use_cache = true;
  bool scale_attn_by_inverse_layer_idx = false;
  bool reorder_and_upcast_attn = false;

  std::int64_t max_position_embeddings() const {
    return n_positions;
  }
  std::int64_t inner_size() const {
    return n_inner.value_or(4 * n_embd);
  }

  HfDims dims() const override {
    return {vocab_size, n_embd, n_layer, n_head};
  }
};

/// transformers' BertConfig.
class BertConfig : public HfConfig {
 public:
  PEFTCPP_HF_CONFIG_BOILERPLATE(BertConfig, "bert")
  BertConfig() {
    pad_token_id = 0;
  }

  std::int64_t vocab_size = 30522;
  std::int64_t hidden_size = 768;
  std::int64_t num_hidden_layers = 12;
  std::int64_t num_attention_heads = 12;
  std::int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  std::int64_t max_position_embeddings = 512;
  std::int64_t type_vocab_size = 2;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-12;
  std::string position_embedding_type = "absolute";
  bool use_cache = true;
  std::optional<double> classifier_dropout;

  HfDims dims() const override {
    return {vocab_size, hidden_size, num_hidden_layers, num_attention_heads};
  }
};

/// transformers' T5Config (hidden_size = d_model, num_attention_heads = num_heads, head_dim =
/// d_kv).
class T5Config : public HfConfig {
 public:
  PEFTCPP_HF_CONFIG_BOILERPLATE(T5Config, "t5")
  T5Config() {
    pad_token_id = 0;
    eos_token_id = 1;
    is_encoder_decoder = true;
  }

  std::int64_t vocab_size = 32128;
  std::int64_t d_model = 512;
  std::int64_t d_kv = 64;
  std::int64_t d_ff = 2048;
  std::int64_t num_layers = 6;
  /// Defaults to num_layers.
  std::optional<std::int64_t> num_decoder_layers;
  std::int64_t num_heads = 8;
  std::int64_t relative_attention_num_buckets = 32;
  std::int64_t relative_attention_max_distance = 128;
  double dropout_rate = 0.1;
  double layer_norm_epsilon = 1e-6;
  double initializer_factor = 1.0;
  /// "<act>" or "gated-<act>"; sets dense_act_fn and is_gated_act ("gated-gelu" -> "gelu_new").
  std::string feed_forward_proj = "relu";
  bool use_cache = true;
  double classifier_dropout = 0.0;
  /// Derived from feed_forward_proj by post_init.
  std::string dense_act_fn = "relu";
  bool is_gated_act = false;

  std::int64_t decoder_layers() const {
    return num_decoder_layers.value_or(num_layers);
  }

  HfDims dims() const override {
    return {vocab_size, d_model, num_layers, num_heads};
  }
};

#undef PEFTCPP_HF_CONFIG_BOILERPLATE

/// Builds the config of `json["model_type"]`, reads it and runs post_init. Unknown model types are
/// a ConfigError listing the known ones. `source` names the file in errors.
std::unique_ptr<HfConfig> hf_config_from_json(const Json& json, std::string_view source = "");
/// Loads `path` (a config.json, or a folder holding one).
std::unique_ptr<HfConfig> load_hf_config(const std::filesystem::path& path);

}  // namespace peftcpp
