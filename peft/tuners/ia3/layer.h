// (IA)^3 layers: port of peft/tuners/ia3/layer.py @5d602fd. Paper: Liu et al. 2022, "Few-Shot
// Parameter-Efficient Fine-Tuning is Better and Cheaper than In-Context Learning",
// arXiv:2205.05638.
//
// Each layer wraps a base module and learns one scaling vector per adapter, `ia3_l.<adapter>`:
//   feed-forward layers scale their input:  y = base(x * l),   l: [1, in]   (conv: [1, in, 1, 1])
//   other layers scale their output:        y = base(x) * l,   l: [out, 1]  (conv: [1, out, 1, 1])
// Several active adapters multiply their vectors. Merging multiplies the base weight (and, for
// output scaling, the bias) by the vector; unmerging divides by (vector + 1e-8), so it is only
// approximately exact, as in PEFT.
//
// Files: layer.cpp (IA3Layer: update_layer, init, the combined scaling), layer_linear.cpp
// (Linear, incl. transformers Conv1D with fan_in_fan_out), layer_conv.cpp (Conv2d).
// nn has no Conv3d, so PEFT's ia3.Conv3d has no counterpart here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "peft/tuners/adapter_dict.h"
#include "peft/tuners/base_tuner_layer.h"
#include "peft/tuners/ia3/config.h"

namespace peftcpp::ia3 {

class IA3Layer : public BaseTunerLayer {
 public:
  std::int64_t in_features = 0;
  std::int64_t out_features = 0;
  /// Scales the input (feed-forward module) instead of the output.
  bool is_feedforward = false;
  /// Base weight stored [in, out] (transformers Conv1D).
  bool fan_in_fan_out = false;

  /// The learned vectors, keyed by adapter name (PEFT's ia3_l ParameterDict).
  AdapterParameterDict& ia3_l() const {
    return *ia3_l_;
  }
  /// Adds (or re-creates) `adapter`: a standard-normal vector, set to ones when
  /// config.init_ia3_weights, in the base weight's dtype (float32 for 16-bit bases).
  void update_layer(const std::string& adapter, const IA3Config& config);
  /// Sets the vector of `adapter` to ones (identity).
  void reset_ia3_parameters(const std::string& adapter);

 protected:
  IA3Layer(
      std::shared_ptr<nn::UnaryModule> base_layer, const std::string& adapter, bool is_feedforward);
  /// Shape of a new vector for this layer type.
  virtual Shape vector_shape() const = 0;
  bool has_adapter(const std::string& adapter) const override;
  /// Product of the active adapters' vectors (flattened when `flat`); undefined when no active
  /// adapter lives in this layer. `dtype` becomes the dtype of the last vector used.
  Tensor combined_scaling(bool flat, DType& dtype) const;

  std::shared_ptr<AdapterParameterDict> ia3_l_;
};

/// (IA)^3 on nn::Linear, or on transformers' nn::Conv1D (weight [in, out], fan_in_fan_out).
class Linear : public IA3Layer {
 public:
  Linear(
      std::shared_ptr<nn::UnaryModule> base_layer,
      const std::string& adapter,
      const IA3Config& config,
      bool is_feedforward = false,
      bool is_target_conv_1d_layer = false);
  std::string type_name() const override {
    return "ia3.Linear";
  }
  Tensor forward(const Tensor& x) override;
  bool is_target_conv_1d_layer = false;

 protected:
  Shape vector_shape() const override;
  void merge_adapter(const std::string& adapter, bool safe_merge) override;
  void unmerge_adapter(const std::string& adapter) override;
};

/// (IA)^3 on nn::Conv2d: the vector broadcasts over the channel dim of [N, C, H, W].
class Conv2d : public IA3Layer {
 public:
  Conv2d(
      std::shared_ptr<nn::UnaryModule> base_layer,
      const std::string& adapter,
      const IA3Config& config,
      bool is_feedforward = false);
  std::string type_name() const override {
    return "ia3.Conv2d";
  }
  Tensor forward(const Tensor& x) override;

 protected:
  Shape vector_shape() const override;
  void merge_adapter(const std::string& adapter, bool safe_merge) override;
  void unmerge_adapter(const std::string& adapter) override;

 private:
  // ia3_l of `adapter` shaped to broadcast against the base weight [out, in, kh, kw].
  Tensor weight_scaling(const std::string& adapter) const;
  std::int64_t kernel_dim_ = 0;
};

}  // namespace peftcpp::ia3
