// LoraVariant: the strategy a LoRA adapter uses instead of plain `B(A(dropout(x))) * scaling`
// (port of LoraVariant in peft/tuners/lora/layer.py @5d602fd). One object per adapter and
// layer; the layer type picks the class from the config (LoraLayer::resolve_variant).
#pragma once

#include <memory>
#include <string>

#include "tensor/tensor.h"

namespace peftcpp {
class LoraConfig;
}

namespace peftcpp::lora {

class LoraLayer;

class LoraVariant {
 public:
  virtual ~LoraVariant() = default;
  /// The variant's name in error messages ("DoRA", "KaSA", ...).
  virtual const char* name() const = 0;
  /// Whether the adapter can be expressed as plain LoRA on the unchanged base weight.
  virtual bool supports_lora_conversion() const {
    return true;
  }
  /// Called at the end of update_layer, after the vanilla A/B were created and initialised.
  virtual void init(
      LoraLayer& layer,
      const std::string& adapter,
      const LoraConfig& config,
      const std::string& target_name) = 0;
  /// `weight` with the adapter merged (a new tensor; `weight` is not changed).
  virtual Tensor merge_safe(LoraLayer& layer, const std::string& adapter, const Tensor& weight) = 0;
  /// Merges the adapter into `weight` in place (nn::set_data).
  virtual void merge_unsafe(LoraLayer& layer, const std::string& adapter, Tensor& weight);
  /// `weight` with the adapter removed again.
  virtual Tensor unmerge(LoraLayer& layer, const std::string& adapter, const Tensor& weight) = 0;
  /// The layer output with this adapter applied, given the base output (or the output of the
  /// adapters before it) `result`.
  virtual Tensor forward(
      LoraLayer& layer, const std::string& adapter, const Tensor& x, const Tensor& result) = 0;
};

}  // namespace peftcpp::lora
