// AdaLoRA layers: port of AdaLoraLayer, SVDLinear and SVDConv2d in
// peft/tuners/adalora/layer.py @5d602fd. Paper: AdaLoRA, Zhang et al. 2023, "Adaptive Budget
// Allocation for Parameter-Efficient Fine-Tuning", ICLR 2023 (arXiv:2303.10512).
//
// AdaLoRA writes the update in an SVD-like form P diag(E) Q: per adapter
//   lora_A.<adapter> [r, in]   right singular vectors   (Conv2d: [r, in_channels * kh * kw])
//   lora_E.<adapter> [r, 1]    singular values          (masked to 0 by the RankAllocator)
//   lora_B.<adapter> [out, r]  left singular vectors
//   ranknum.<adapter> [1]      the initial rank r as a frozen parameter (never saved)
// and the layer adds
//   y = base(x) + (dropout(x) @ (A * E)^T @ B^T) * scaling / (ranknum + 1e-5)
// with scaling = lora_alpha (r when lora_alpha <= 0). Conv2d reshapes B @ (A * E) * scaling /
// (ranknum + 1e-5) to the base kernel and convolves with the base stride / padding / dilation.
// The delta weight merged into the base is the same expression (transposed for transformers'
// Conv1D, whose weight is [in, out]). r = 0 is allowed (an adapter that does nothing).
//
// Files: layer.cpp (AdaLoraLayer: update_layer, init, merge, forward loop), layer_linear.cpp
// (SVDLinear), layer_conv.cpp (SVDConv2d).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nn/containers.h"
#include "peft/tuners/adalora/config.h"
#include "peft/tuners/adapter_dict.h"
#include "peft/tuners/base_tuner_layer.h"

namespace peftcpp::adalora {

class AdaLoraLayer : public BaseTunerLayer {
 public:
  std::int64_t in_features = 0;
  std::int64_t out_features = 0;
  /// Base weight stored [in, out] (transformers Conv1D).
  bool fan_in_fan_out = false;

  std::map<std::string, int> r;
  std::map<std::string, double> lora_alpha;
  std::map<std::string, double> scaling;

  nn::ModuleDict& lora_dropout() const {
    return *lora_dropout_;
  }
  AdapterParameterDict& lora_A() const {
    return *lora_A_;
  }
  AdapterParameterDict& lora_B() const {
    return *lora_B_;
  }
  AdapterParameterDict& lora_E() const {
    return *lora_E_;
  }
  AdapterParameterDict& ranknum() const {
    return *ranknum_;
  }

  /// Adds (or re-creates) `adapter` with rank `rank` (>= 0): fresh A, E, B (random normal, then
  /// PEFT's init when config.init_lora_weights is truthy), ranknum = rank, scaling = alpha (or
  /// rank when alpha <= 0). PEFT's update_layer.
  void update_layer(
      const std::string& adapter, int rank, double alpha, const AdaLoraConfig& config);
  /// E = 0, A and B ~ N(0, 0.02) (PEFT's reset_lora_parameters).
  void reset_lora_parameters(const std::string& adapter);
  /// B @ (A * E) * scaling / (ranknum + 1e-5) in the base weight's layout.
  virtual Tensor get_delta_weight(const std::string& adapter) const = 0;

  Tensor forward(const Tensor& x) override;
  std::vector<std::string> all_adapter_names() const override;

 protected:
  AdaLoraLayer(std::shared_ptr<nn::UnaryModule> base_layer, const std::string& adapter);
  /// Columns of lora_A (in_features, times the kernel size for convolutions).
  virtual std::int64_t a_columns() const = 0;
  /// The update of one adapter for input `x` (already in the adapter dtype).
  virtual Tensor adapter_output(const std::string& adapter, const Tensor& x) = 0;
  /// B @ (A * E) * scaling / (ranknum + 1e-5), [out, a_columns()].
  Tensor scaled_product(const std::string& adapter) const;
  /// dropout(x) of `adapter`.
  Tensor apply_dropout(const std::string& adapter, const Tensor& x) const;

  bool has_adapter(const std::string& adapter) const override;
  void merge_adapter(const std::string& adapter, bool safe_merge) override;
  void unmerge_adapter(const std::string& adapter) override;
  void erase_adapter_settings(const std::string& name) override;

  std::shared_ptr<nn::ModuleDict> lora_dropout_;
  std::shared_ptr<AdapterParameterDict> lora_A_;
  std::shared_ptr<AdapterParameterDict> lora_B_;
  std::shared_ptr<AdapterParameterDict> lora_E_;
  std::shared_ptr<AdapterParameterDict> ranknum_;
};

/// AdaLoRA on nn::Linear, or on transformers' nn::Conv1D (fan_in_fan_out).
class SVDLinear : public AdaLoraLayer {
 public:
  SVDLinear(
      std::shared_ptr<nn::UnaryModule> base_layer,
      const std::string& adapter,
      const AdaLoraConfig& config,
      int rank,
      double alpha);
  std::string type_name() const override {
    return "adalora.SVDLinear";
  }
  Tensor get_delta_weight(const std::string& adapter) const override;

 protected:
  std::int64_t a_columns() const override {
    return in_features;
  }
  Tensor adapter_output(const std::string& adapter, const Tensor& x) override;
};

/// AdaLoRA on nn::Conv2d (groups == 1): lora_A holds the flattened kernel.
class SVDConv2d : public AdaLoraLayer {
 public:
  SVDConv2d(
      std::shared_ptr<nn::UnaryModule> base_layer,
      const std::string& adapter,
      const AdaLoraConfig& config,
      int rank,
      double alpha);
  std::string type_name() const override {
    return "adalora.SVDConv2d";
  }
  Tensor get_delta_weight(const std::string& adapter) const override;

 protected:
  std::int64_t a_columns() const override;
  Tensor adapter_output(const std::string& adapter, const Tensor& x) override;
};

}  // namespace peftcpp::adalora
