// Variant resolution per layer type (port of the lora_variants properties and
// resolve_lora_variant in peft/tuners/lora/layer.py @5d602fd).
#include "peft/tuners/lora/variants/variants.h"

#include <algorithm>

#include "tensor/error.h"

namespace peftcpp::lora {
namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

[[noreturn]] void unsupported(const std::vector<std::string>& names, const char* layer) {
  throw ValueError(detail::concat(
      "[lora] invalid or unsupported variant combination for ", layer, ": (", joined(names), ")"));
}

}  // namespace

std::vector<std::string> requested_variants(const LoraConfig& c) {
  std::vector<std::string> out;
  if (c.use_dora)
    out.push_back("use_dora");
  if (!c.arrow_config.is_null())
    out.push_back("arrow_config");
  if (!c.use_bdlora.is_null())
    out.push_back("use_bdlora");
  if (c.alora_invocation_tokens && !c.alora_invocation_tokens->empty()) {
    out.push_back("alora_invocation_tokens");
  }
  if (!c.velora_config.is_null())
    out.push_back("velora_config");
  if (!c.monteclora_config.is_null())
    out.push_back("monteclora_config");
  if (c.init_lora_weights == "mica")
    out.push_back("mica");
  if (!c.kasa_config.is_null())
    out.push_back("kasa_config");
  std::sort(out.begin(), out.end());
  return out;
}

std::string resolve_linear_variant_name(const LoraConfig& config) {
  return joined(requested_variants(config));
}

std::shared_ptr<LoraVariant> resolve_linear_variant(const LoraConfig& config) {
  const std::vector<std::string> req = requested_variants(config);
  if (req.empty())
    return nullptr;
  if (req.size() > 1)
    unsupported(req, "lora.Linear");
  const std::string& v = req.front();
  if (v == "use_dora")
    return make_dora_linear_variant();
  if (v == "use_bdlora")
    return make_bdlora_variant();
  if (v == "velora_config")
    return make_velora_variant();
  if (v == "monteclora_config")
    return make_monteclora_variant();
  if (v == "mica")
    return make_mica_linear_variant();
  if (v == "kasa_config")
    return make_kasa_variant();
  throw ValueError(
      detail::concat("[lora] the LoRA variant '", v, "' is not implemented in peftcpp"));
}

std::shared_ptr<LoraVariant> resolve_embedding_variant(const LoraConfig& config) {
  const std::vector<std::string> req = requested_variants(config);
  if (req.empty())
    return nullptr;
  if (req.size() > 1)
    unsupported(req, "lora.Embedding");
  if (req.front() == "use_dora")
    return make_dora_embedding_variant();
  if (req.front() == "mica")
    return make_mica_embedding_variant();
  unsupported(req, "lora.Embedding");
}

std::shared_ptr<LoraVariant> resolve_conv_variant(const LoraConfig& config) {
  const std::vector<std::string> req = requested_variants(config);
  if (req.empty())
    return nullptr;
  if (req.size() == 1 && req.front() == "use_dora")
    return make_dora_conv_variant();
  unsupported(req, "lora conv layers");
}

}  // namespace peftcpp::lora
