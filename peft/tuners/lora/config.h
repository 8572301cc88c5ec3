// LoraConfig: port of peft/tuners/lora/config.py @5d602fd (every field, its default and the
// checks of `__post_init__`).
//
// Nested dataclass configs (loftq_config, eva_config, corda_config, lora_ga_config, velora_config,
// monteclora_config, kasa_config, arrow_config, use_bdlora) and free-form dicts (rank_pattern,
// alpha_pattern, megatron_config, trainable_token_indices) are Json values: an object, or null
// where PEFT allows None. velora/kasa/monteclora objects are validated as PEFT does when it turns
// them into their dataclasses (unknown keys and out-of-range values are errors).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "peft/config.h"

namespace peftcpp {

class LoraConfig : public PeftConfig {
 public:
  static constexpr const char* kClassName = "LoraConfig";
  LoraConfig() : PeftConfig(PeftType::LORA) {}

  int r = 8;
  ModuleNames target_modules;
  ModuleNames exclude_modules;
  int lora_alpha = 8;
  double lora_dropout = 0.0;
  bool fan_in_fan_out = false;
  std::string bias = "none";  ///< "none", "all" or "lora_only"
  bool use_rslora = false;
  std::optional<std::vector<std::string>> modules_to_save;
  /// true, false, "gaussian", "eva", "olora", "pissa", "pissa_niter_<n>", "corda", "loftq",
  /// "orthogonal", "mica" or "lora_ga".
  InitWeights init_lora_weights = true;
  LayerIndices layers_to_transform;
  ModuleNames layers_pattern;
  Json rank_pattern = Json::object();   ///< {module regex: rank}
  Json alpha_pattern = Json::object();  ///< {module regex: alpha}
  Json megatron_config;
  std::optional<std::string> megatron_core = std::string("megatron.core");
  Json trainable_token_indices;  ///< null, [ids] or {module: [ids]}
  Json loftq_config = Json::object();
  Json eva_config;
  Json corda_config;
  Json lora_ga_config;
  bool use_dora = false;
  Json velora_config;
  std::optional<std::vector<std::int64_t>> alora_invocation_tokens;
  bool use_qalora = false;
  int qalora_group_size = 16;
  Json monteclora_config;
  std::optional<std::vector<std::pair<int, int>>> layer_replication;
  bool lora_bias = false;
  std::optional<std::vector<std::string>> target_parameters;
  Json use_bdlora;
  Json arrow_config;
  Json kasa_config;
  bool ensure_weight_tying = false;

  const char* class_name() const override {
    return kClassName;
  }
  std::unique_ptr<PeftConfig> clone() const override {
    return std::make_unique<LoraConfig>(*this);
  }

 protected:
  explicit LoraConfig(PeftType type) : PeftConfig(type) {}
  void visit_fields(json_detail::FieldVisitor& v) override;
  void normalize(json_detail::FieldVisitor& v, const JsonObject* loaded) override;
  void check(const json_detail::FieldVisitor& v) const override;
};

}  // namespace peftcpp
