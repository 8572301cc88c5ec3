// Config factory and adapter_config.json loading: peft_type -> typed config (or GenericPeftConfig).
// The typed configs are an explicit list (static self-registration would be dropped by the linker).
#include <system_error>

#include "peft/config.h"
#include "peft/tuners/adalora/config.h"
#include "peft/tuners/boft/config.h"
#include "peft/tuners/ia3/config.h"
#include "peft/tuners/loha/config.h"
#include "peft/tuners/lokr/config.h"
#include "peft/tuners/lora/config.h"
#include "peft/tuners/oft/config.h"
#include "peft/tuners/p_tuning/config.h"
#include "peft/tuners/prefix_tuning/config.h"
#include "peft/tuners/prompt_tuning/config.h"
#include "peft/tuners/vera/config.h"

namespace peftcpp {

std::unique_ptr<PeftConfig> make_peft_config(PeftType type) {
  switch (type) {
    case PeftType::LORA:
      return std::make_unique<LoraConfig>();
    case PeftType::ADALORA:
      return std::make_unique<AdaLoraConfig>();
    case PeftType::IA3:
      return std::make_unique<IA3Config>();
    case PeftType::LOHA:
      return std::make_unique<LoHaConfig>();
    case PeftType::LOKR:
      return std::make_unique<LoKrConfig>();
    case PeftType::OFT:
      return std::make_unique<OFTConfig>();
    case PeftType::BOFT:
      return std::make_unique<BOFTConfig>();
    case PeftType::VERA:
      return std::make_unique<VeraConfig>();
    case PeftType::PROMPT_TUNING:
      return std::make_unique<PromptTuningConfig>();
    case PeftType::PREFIX_TUNING:
      return std::make_unique<PrefixTuningConfig>();
    case PeftType::P_TUNING:
      return std::make_unique<PromptEncoderConfig>();
    default:
      return std::make_unique<GenericPeftConfig>(type);
  }
}

std::unique_ptr<PeftConfig> peft_config_from_json(const Json& json, std::string_view source) {
  const std::string where = source.empty() ? std::string("<json>") : std::string(source);
  if (!json.is_object()) {
    throw ConfigError(
        "[peft.config] " + where + ": expected a JSON object, got " + json.type_name());
  }
  const Json* type_json = json.find("peft_type");
  if (type_json == nullptr || type_json->is_null()) {
    throw ConfigError("[peft.config] " + where + ": peft_type: missing");
  }
  PeftType type{};
  try {
    from_json(*type_json, type);
  } catch (const ValueError& e) {
    std::string_view what = e.what();
    if (what.starts_with("[json] ")) {
      what.remove_prefix(7);
    }
    throw ConfigError("[peft.config] " + where + ": peft_type: " + std::string(what));
  }
  std::unique_ptr<PeftConfig> config = make_peft_config(type);
  config->load(json.as_object(), std::string(source));
  return config;
}

std::unique_ptr<PeftConfig> load_peft_config(const std::filesystem::path& path) {
  std::error_code ec;
  const std::filesystem::path file =
      std::filesystem::is_directory(path, ec) ? path / kAdapterConfigName : path;
  return peft_config_from_json(Json::parse_file(file), file.string());
}

}  // namespace peftcpp
