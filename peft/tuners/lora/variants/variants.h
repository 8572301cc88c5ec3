// Which LoraVariant an adapter uses on each layer type (port of the `lora_variants` properties
// and LoraLayer.resolve_lora_variant in peft/tuners/lora/layer.py @5d602fd), and the factories
// of the variants (one file each in this folder).
//
//   Linear:    use_dora (dora.cpp), use_bdlora (bdlora.cpp), velora_config (velora.cpp),
//              monteclora_config (monteclora.cpp), init_lora_weights="mica" (mica.cpp),
//              kasa_config (kasa.cpp); arrow_config and alora_invocation_tokens are rejected
//              as not implemented.
//   Embedding: use_dora, "mica".   Conv1d / Conv2d: use_dora.   ParamWrapper: none.
// Requesting two variants at once, or one the layer type lacks, is an error (as in PEFT).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "peft/tuners/lora/config.h"
#include "peft/tuners/lora/variant.h"

namespace peftcpp::lora {

/// The variant fields `config` turns on, sorted ("kasa_config", "use_dora", "mica", ...).
std::vector<std::string> requested_variants(const LoraConfig& config);
/// "" when none is requested, else the names joined by ", ".
std::string resolve_linear_variant_name(const LoraConfig& config);

std::shared_ptr<LoraVariant> resolve_linear_variant(const LoraConfig& config);
std::shared_ptr<LoraVariant> resolve_embedding_variant(const LoraConfig& config);
std::shared_ptr<LoraVariant> resolve_conv_variant(const LoraConfig& config);

std::shared_ptr<LoraVariant> make_dora_linear_variant();
std::shared_ptr<LoraVariant> make_dora_embedding_variant();
std::shared_ptr<LoraVariant> make_dora_conv_variant();
std::shared_ptr<LoraVariant> make_bdlora_variant();
std::shared_ptr<LoraVariant> make_velora_variant();
std::shared_ptr<LoraVariant> make_monteclora_variant();
std::shared_ptr<LoraVariant> make_mica_linear_variant();
std::shared_ptr<LoraVariant> make_mica_embedding_variant();
std::shared_ptr<LoraVariant> make_kasa_variant();

}  // namespace peftcpp::lora
