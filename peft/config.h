// PeftConfig: the base of every adapter configuration, and adapter_config.json I/O.
//
// Port of peft/config.py @5d602fd (PeftConfigMixin, PeftConfig, PromptLearningConfig). Each typed
// config (LoraConfig, IA3Config, ...) lists its fields once in `visit_fields` (see
// io/json/field_visitor.h) and gets reading, writing and per-field validation from that list;
// PEFT's
// `__post_init__` becomes `normalize` (mutations and warnings) + `check` (errors across fields).
//
// Loading keeps every key: keys the config does not know are warned about on stderr and written
// back unchanged. Invalid values throw ConfigError naming the file and the key. Saving writes
// PEFT's format (`json.dumps(to_dict(), indent=2, sort_keys=True)`, no trailing newline)
// atomically, so a loaded adapter_config.json saves back byte for byte.
//
//   LoraConfig cfg;
//   cfg.r = 8;
//   cfg.target_modules = {"q_proj", "v_proj"};
//   cfg.save_pretrained("out");                       // out/adapter_config.json
//   auto loaded = load_peft_config("out");            // std::unique_ptr<PeftConfig>
//   const LoraConfig& lora = loaded->as<LoraConfig>();
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/json/json.h"
#include "io/json/json_convert.h"
#include "peft/config_types.h"
#include "peft/peft_type.h"
#include "tensor/error.h"

namespace peftcpp {

namespace json_detail {
class FieldVisitor;
}

/// File name PEFT uses for adapter configs.
inline constexpr std::string_view kAdapterConfigName = "adapter_config.json";
/// `peft_version` written by configs created in peftcpp: PEFT's format version plus a local tag
/// (a valid PEP 440 version, so PEFT's version checks can parse it).
inline constexpr std::string_view kPeftVersion = "0.20.1.dev0+peftcpp.0.1.0";

class PeftConfig {
 public:
  virtual ~PeftConfig();

  // Fields of PEFT's PeftConfigMixin and PeftConfig (peft_type is fixed by the class).
  std::optional<TaskType> task_type;
  Json auto_mapping;  ///< Optional[dict]: null or an object
  std::optional<std::string> peft_version = std::string(kPeftVersion);
  std::optional<std::string> base_model_name_or_path;
  std::optional<std::string> revision;
  bool inference_mode = false;

  PeftType peft_type() const {
    return peft_type_;
  }
  /// "LoraConfig", "GenericPeftConfig", ...
  virtual const char* class_name() const = 0;
  virtual std::unique_ptr<PeftConfig> clone() const = 0;
  bool is_prompt_learning() const {
    return peftcpp::is_prompt_learning(peft_type_);
  }
  bool is_adaption_prompt() const {
    return peft_type_ == PeftType::ADAPTION_PROMPT;
  }

  /// PEFT's `__post_init__`: normalises fields (dedups target_modules, fills defaults, warns) and
  /// validates them. Loading calls it; saving calls it on a copy.
  void post_init();
  /// Validation only (per-field checks and checks across fields); throws ConfigError.
  void validate() const;

  /// PEFT's `to_dict()` with sets written as lists, plus the unknown keys of the loaded file.
  Json to_json() const;
  /// The exact text `save` writes.
  std::string to_json_string() const;
  /// Writes the config (after post_init on a copy) to `file` atomically.
  void save(const std::filesystem::path& file) const;
  /// Creates `dir` if needed and saves `dir/adapter_config.json`.
  void save_pretrained(const std::filesystem::path& dir) const;

  /// Keys of the loaded file this config does not know, kept in file order.
  const JsonObject& unknown_fields() const {
    return unknown_;
  }
  /// The file this config was loaded from ("" when built in code).
  const std::string& source() const {
    return source_;
  }

  /// This config as its concrete type; throws ConfigError naming both types on a mismatch.
  template <class C>
  const C& as() const {
    const C* c = dynamic_cast<const C*>(this);
    if (c == nullptr) {
      throw_bad_cast(C::kClassName);
    }
    return *c;
  }
  template <class C>
  C& as() {
    return const_cast<C&>(static_cast<const PeftConfig*>(this)->as<C>());
  }

 protected:
  explicit PeftConfig(PeftType type) : peft_type_(type) {}
  PeftConfig(const PeftConfig&) = default;
  PeftConfig& operator=(const PeftConfig&) = default;

  /// Lists every field once; overrides call their base class first.
  virtual void visit_fields(json_detail::FieldVisitor& v);
  /// Mutating part of `__post_init__` (warnings via v.warn). `loaded` is the file's object when
  /// loading, else nullptr (for PEFT's `check_kwargs`). Overrides call their base class first.
  virtual void normalize(json_detail::FieldVisitor& v, const JsonObject* loaded);
  /// Checking part of `__post_init__` (errors via v.fail). Overrides call their base class first.
  virtual void check(const json_detail::FieldVisitor& v) const;
  /// Whether keys the config does not know are warned about (GenericPeftConfig: no).
  virtual bool warn_unknown_keys() const {
    return true;
  }
  [[noreturn]] void fail_key(std::string_view key, std::string_view what) const;
  JsonObject& mutable_unknown_fields() {
    return unknown_;
  }

 private:
  friend std::unique_ptr<PeftConfig> peft_config_from_json(
      const Json& json, std::string_view source);
  [[noreturn]] void throw_bad_cast(std::string_view wanted) const;
  void load(const JsonObject& obj, std::string source);

  PeftType peft_type_;
  JsonObject unknown_;
  JsonObject loaded_;
  std::string source_;
};

/// Fields shared by prompt/prefix/p-tuning (PEFT's PromptLearningConfig).
class PromptLearningConfig : public PeftConfig {
 public:
  std::optional<int> num_virtual_tokens;
  std::optional<int> token_dim;
  std::optional<int> num_transformer_submodules;
  std::optional<int> num_attention_heads;
  std::optional<int> num_layers;
  std::optional<std::vector<std::string>> modules_to_save;

 protected:
  using PeftConfig::PeftConfig;
  void visit_fields(json_detail::FieldVisitor& v) override;
};

/// Any of the PEFT methods without a typed config here: keeps every key of the file, in order.
class GenericPeftConfig : public PeftConfig {
 public:
  static constexpr const char* kClassName = "GenericPeftConfig";
  explicit GenericPeftConfig(PeftType type) : PeftConfig(type) {}

  const char* class_name() const override {
    return kClassName;
  }
  std::unique_ptr<PeftConfig> clone() const override {
    return std::make_unique<GenericPeftConfig>(*this);
  }
  /// The method-specific keys (all but PeftConfig's own), in file order.
  const JsonObject& fields() const {
    return unknown_fields();
  }
  bool contains(std::string_view key) const {
    return fields().contains(key);
  }
  /// The value of `key` as T; ConfigError naming the key and file when absent or of another type.
  template <class T>
  T get(std::string_view key) const {
    const Json* j = fields().find(key);
    if (j == nullptr) {
      fail_key(key, "missing");
    }
    T out{};
    try {
      from_json(*j, out);
    } catch (const ValueError& e) {
      fail_key(key, e.what());
    }
    return out;
  }
  /// The value of `key` as T, or `fallback` when absent.
  template <class T>
  T get(std::string_view key, T fallback) const {
    return contains(key) ? get<T>(key) : fallback;
  }
  void set(std::string_view key, Json value);

 protected:
  bool warn_unknown_keys() const override {
    return false;
  }
};

/// Builds the config of `json["peft_type"]` (a typed one where peftcpp has it, else
/// GenericPeftConfig), reads it and runs post_init. `source` names the file in errors.
std::unique_ptr<PeftConfig> peft_config_from_json(const Json& json, std::string_view source = "");
/// Loads `path` (an adapter_config.json, or a folder holding one).
std::unique_ptr<PeftConfig> load_peft_config(const std::filesystem::path& path);
/// A default-constructed config of `type`.
std::unique_ptr<PeftConfig> make_peft_config(PeftType type);

}  // namespace peftcpp
