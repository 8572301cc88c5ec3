// LoraConfig fields and __post_init__ (peft/tuners/lora/config.py @5d602fd).
#include "peft/tuners/lora/config.h"

#include <cctype>

#include "io/json/field_visitor.h"
#include "peft/config_checks.h"

namespace peftcpp {

using json_detail::FieldVisitor;
using namespace config_checks;

namespace {

// Values LoraLayer.update_layer accepts (peft/tuners/lora/layer.py): gaussian/olora/mica in any
// case, "pissa" or "pissa_niter_<n>", names starting with "corda", and the exact names below.
std::string check_init_lora_weights(const InitWeights& w) {
  if (w.is_bool()) {
    return {};
  }
  std::string lower = w.name();
  for (char& c : lower) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  const std::string& n = w.name();
  if (lower == "gaussian" || lower == "olora" || lower == "mica" || n == "pissa" || n == "loftq" ||
      n == "eva" || n == "orthogonal" || n == "lora_ga" || n.starts_with("corda")) {
    return {};
  }
  if (n.starts_with("pissa_niter_")) {
    const std::string iters = n.substr(12);
    bool digits = !iters.empty();
    for (char c : iters) {
      digits = digits && std::isdigit(static_cast<unsigned char>(c));
    }
    if (digits) {
      return {};
    }
    return "must be 'pissa' or 'pissa_niter_<number of iterations>', got '" + n + "'";
  }
  return "unknown initialization '" + n +
         "'; expected true, false, 'gaussian', 'eva', 'olora', 'pissa', 'pissa_niter_<n>', "
         "'corda', 'loftq', 'orthogonal', 'mica' or 'lora_ga'";
}

std::string check_pattern(const Json& j, bool ints_only) {
  if (j.is_null()) {
    return {};
  }
  if (!j.is_object()) {
    return std::string("must be an object, got ") + j.type_name();
  }
  for (const auto& [k, value] : j.as_object()) {
    if (ints_only ? !value.is_int() : !value.is_number()) {
      return "value of '" + k + "' must be " + (ints_only ? "an int" : "a number") + ", got " +
             value.type_name();
    }
  }
  return {};
}

bool is_int_list(const Json& j) {
  if (!j.is_array()) {
    return false;
  }
  for (const Json& e : j.as_array()) {
    if (!e.is_int()) {
      return false;
    }
  }
  return true;
}

std::string check_trainable_token_indices(const Json& j) {
  if (j.is_null() || is_int_list(j)) {
    return {};
  }
  if (j.is_object()) {
    for (const auto& [k, value] : j.as_object()) {
      if (!is_int_list(value)) {
        return "value of '" + k + "' must be a list of ints";
      }
    }
    return {};
  }
  return "must be null, a list of ints or an object of lists of ints";
}

// Defaults of PEFT's EvaConfig and CordaConfig dataclasses (written when PEFT fills them in).
Json default_eva_config() {
  return Json::object(
      {{"rho", 2.0},
       {"tau", 0.99},
       {"use_label_mask", true},
       {"label_mask_value", -100},
       {"whiten", false},
       {"adjust_scaling_factors", true}});
}

Json default_corda_config() {
  return Json::object(
      {{"cache_file", nullptr},
       {"covariance_file", nullptr},
       {"corda_method", "ipm"},
       {"verbose", false},
       {"use_float16_for_covariance", false},
       {"prune_temporary_fields", true}});
}

std::string check_velora_init_type(const Json& j) {
  if (j.is_string()) {
    const std::string& s = j.as_string();
    if (s == "batch_average_once" || s == "batch_average" || s == "random") {
      return {};
    }
  }
  return "must be 'batch_average_once', 'batch_average' or 'random', got " + j.dump();
}

}  // namespace

void LoraConfig::visit_fields(FieldVisitor& v) {
  PeftConfig::visit_fields(v);
  v("r", r, json_detail::positive());
  v("target_modules", target_modules);
  v("exclude_modules", exclude_modules);
  v("lora_alpha", lora_alpha);
  v("lora_dropout", lora_dropout, json_detail::in_range(0.0, 1.0));
  v("fan_in_fan_out", fan_in_fan_out);
  v("bias", bias, json_detail::one_of({"none", "all", "lora_only"}));
  v("use_rslora", use_rslora);
  v("modules_to_save", modules_to_save);
  v("init_lora_weights", init_lora_weights, check_init_lora_weights);
  v("layers_to_transform", layers_to_transform);
  v("layers_pattern", layers_pattern);
  // AdaLoRA (a LoraConfig) stores {module: [bool mask]} in rank_pattern after training.
  const bool adalora = peft_type() == PeftType::ADALORA;
  v("rank_pattern", rank_pattern, [adalora](const Json& j) {
    return adalora ? null_or_object(j) : check_pattern(j, true);
  });
  v("alpha_pattern", alpha_pattern, [](const Json& j) { return check_pattern(j, false); });
  v("megatron_config", megatron_config, null_or_object);
  v("megatron_core", megatron_core);
  v("trainable_token_indices", trainable_token_indices, check_trainable_token_indices);
  v("loftq_config", loftq_config, must_be_object);
  v("eva_config", eva_config, null_or_object);
  v("corda_config", corda_config, null_or_object);
  v("lora_ga_config", lora_ga_config, null_or_object);
  v("use_dora", use_dora);
  v("velora_config", velora_config);
  v("alora_invocation_tokens", alora_invocation_tokens);
  v("use_qalora", use_qalora);
  v("qalora_group_size", qalora_group_size, json_detail::positive());
  v("monteclora_config", monteclora_config);
  v("layer_replication", layer_replication);
  v("lora_bias", lora_bias);
  v("target_parameters", target_parameters);
  v("use_bdlora", use_bdlora, null_or_object);
  v("arrow_config", arrow_config, null_or_object);
  v("kasa_config", kasa_config);
  v("ensure_weight_tying", ensure_weight_tying);
}

void LoraConfig::normalize(FieldVisitor& v, const JsonObject* loaded) {
  PeftConfig::normalize(v, loaded);
  target_modules.deduplicate();
  exclude_modules.deduplicate();
  if (init_lora_weights == "loftq") {
    // checked in check(): loftq_config must be given
  } else if (truthy(loftq_config)) {
    loftq_config = Json::object();
    v.warn("loftq_config", "is ignored (reset to {}) when init_lora_weights is not 'loftq'");
  } else if (init_lora_weights == "eva" && eva_config.is_null()) {
    v.warn("eva_config", "not given with init_lora_weights='eva'; using the default EvaConfig");
    eva_config = default_eva_config();
  } else if (!(init_lora_weights == "eva") && !eva_config.is_null()) {
    v.warn("eva_config", "is ignored when init_lora_weights is not 'eva'");
  } else if (init_lora_weights == "corda" && corda_config.is_null()) {
    v.warn(
        "corda_config", "not given with init_lora_weights='corda'; using the default CordaConfig");
    corda_config = default_corda_config();
  } else if (!(init_lora_weights == "corda") && !corda_config.is_null()) {
    v.warn("corda_config", "is ignored when init_lora_weights is not 'corda'");
  }
  if (alora_invocation_tokens && task_type != TaskType::CAUSAL_LM) {
    v.warn("alora_invocation_tokens", "aLoRA is only supported for task_type CAUSAL_LM");
  }
  const bool converts_base =
      (init_lora_weights.is_string() && init_lora_weights.name().starts_with("pissa")) ||
      init_lora_weights == "olora" || init_lora_weights == "corda" ||
      init_lora_weights == "lora_ga";
  if (use_rslora && (truthy(rank_pattern) || truthy(alpha_pattern)) && converts_base) {
    v.warn(
        "use_rslora",
        "with rank_pattern/alpha_pattern and PiSSA/CorDA/OLoRA/LoRA-GA, the initial base "
        "weights cannot be restored by passing path_initial_model_for_weight_conversion");
  }
}

void LoraConfig::check(const FieldVisitor& v) const {
  PeftConfig::check(v);
  check_nested(
      v,
      "velora_config",
      velora_config,
      "VeloraConfig",
      {{"num_groups", positive_int},
       {"scale", positive_number},
       {"init_type", check_velora_init_type}});
  check_nested(
      v,
      "kasa_config",
      kasa_config,
      "KasaConfig",
      {{"beta", non_negative_number}, {"gamma", non_negative_number}});
  check_nested(
      v,
      "monteclora_config",
      monteclora_config,
      "MontecloraConfig",
      {{"num_samples", positive_int},
       {"use_entropy", any_bool},
       {"dirichlet_prior", positive_number},
       {"sample_scaler", any_number},
       {"kl_loss_weight", any_number},
       {"buffer_size", positive_int}});
  check_regex_target_excludes_layers(v, target_modules, layers_to_transform, &layers_pattern);
  check_layers_pattern(v, layers_pattern, layers_to_transform);
  if (use_dora && truthy(megatron_config)) {
    v.fail("use_dora", "DoRA does not support megatron_core; set use_dora=false");
  }
  if (init_lora_weights == "loftq" && !truthy(loftq_config)) {
    v.fail("loftq_config", "must be given when init_lora_weights is 'loftq'");
  }
  if (lora_bias) {
    if (!init_lora_weights.is_bool()) {
      v.fail(
          "lora_bias",
          "is only supported with init_lora_weights=true or false, got '" +
              init_lora_weights.name() + "'");
    }
    if (use_dora) {
      v.fail("lora_bias", "is not supported for DoRA; set use_dora=false");
    }
  }
}

}  // namespace peftcpp
